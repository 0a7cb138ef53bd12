// Optional use of @heart/native (swscale scaling, JPEG encoding). The vision
// algorithms never need it; the workers use it when the addon is built, and
// fall back to JS otherwise, so this package builds and tests without it.

import { loadNativeIfBuilt } from '@heart/kernel'
import type { FrameView } from './types.js'

type NativeLayout = { width: number; height: number; pixFmt: 'yuv420p' | 'nv12' | 'gray' | 'rgb24' | 'bgr24'; planes: FrameView['planes'] }

export interface NativeVision {
  scaleInto?: (src: Uint8Array, srcLayout: NativeLayout, dst: Uint8Array, dstLayout: NativeLayout) => void
  encodeJpeg?: (src: Uint8Array, layout: NativeLayout, options?: { width?: number; height?: number; quality?: number }) => Uint8Array
}

/** The native functions this build has (an empty object when the addon is missing or stale). */
export async function loadNative(): Promise<NativeVision> {
  const native = await loadNativeIfBuilt()
  // The casts only widen the addon's mutable `planes` arrays to readonly ones: the addon never writes a layout.
  return { scaleInto: native?.scaleInto as NativeVision['scaleInto'], encodeJpeg: native?.encodeJpeg as NativeVision['encodeJpeg'] }
}

export function nativeLayout(frame: FrameView): NativeLayout {
  return { width: frame.width, height: frame.height, pixFmt: frame.pixFmt as NativeLayout['pixFmt'], planes: frame.planes }
}
