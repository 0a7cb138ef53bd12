// Use of @heart/native. The movement detector's per-cell stages are the
// crate's MotionGrid, with no JavaScript twin: the addon is part of heart.
// Scaling and JPEG encoding stay optional (the detection worker falls back to
// BMP). The addon is loaded when this module is first imported, so that
// MotionDetector can be constructed synchronously; without it this package
// still loads, and a detector says why it cannot run on its first frame.

import { loadNative as loadAddon, loadNativeIfBuilt } from '@heart/kernel'
import type { HeartNative } from '@heart/kernel'
import type { FrameView } from './types.js'

/** The movement detector's per-cell stages for one frame geometry (native/src/motion.rs). */
export type MotionGridStages = Pick<InstanceType<HeartNative['MotionGrid']>, 'reduce' | 'compare' | 'dilate' | 'label' | 'learn'>
/** Builds the stages for a frame size, block factor, sampling mode and filter radii. */
export type MotionGridFactory = (frameWidth: number, frameHeight: number, factor: number, sample: boolean, blurRadius: number, dilateRadius: number) => MotionGridStages

let gridUnavailable: unknown = null
const gridAddon = await loadAddon(['MotionGrid']).catch((error: unknown) => {
  gridUnavailable = error
  return null
})

/** The crate's MotionGrid; throws NativeUnavailableError (NATIVE_UNAVAILABLE) when the addon is missing or stale. */
export const nativeMotionGrid: MotionGridFactory = (frameWidth, frameHeight, factor, sample, blurRadius, dilateRadius) => {
  if (gridAddon === null) throw gridUnavailable
  return new gridAddon.MotionGrid(frameWidth, frameHeight, factor, sample, blurRadius, dilateRadius)
}

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
