// Optional use of @heart/native (swscale scaling, JPEG encoding). The vision
// algorithms never need it; the workers use it when the addon is built, and
// fall back to JS otherwise, so this package builds and tests without it.

import type { FrameView } from './types.js'

type NativeLayout = { width: number; height: number; pixFmt: 'yuv420p' | 'nv12' | 'gray' | 'rgb24' | 'bgr24'; planes: FrameView['planes'] }

export interface NativeVision {
  scaleInto?: (src: Uint8Array, srcLayout: NativeLayout, dst: Uint8Array, dstLayout: NativeLayout) => void
  encodeJpeg?: (src: Uint8Array, layout: NativeLayout, options?: { width?: number; height?: number; quality?: number }) => Uint8Array
}

let loaded: Promise<NativeVision> | undefined

/** The native functions this build has (an empty object when the addon is missing). */
export function loadNative(): Promise<NativeVision> {
  // A variable specifier keeps TypeScript from requiring the addon's types at build time.
  const specifier = '@heart/native'
  loaded ??= import(specifier).then(
    (m: Record<string, unknown>) => ({
      scaleInto: typeof m.scaleInto === 'function' ? (m.scaleInto as NativeVision['scaleInto']) : undefined,
      encodeJpeg: typeof m.encodeJpeg === 'function' ? (m.encodeJpeg as NativeVision['encodeJpeg']) : undefined,
    }),
    () => ({}),
  )
  return loaded
}

export function nativeLayout(frame: FrameView): NativeLayout {
  return { width: frame.width, height: frame.height, pixFmt: frame.pixFmt as NativeLayout['pixFmt'], planes: frame.planes }
}
