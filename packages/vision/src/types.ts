// Message and configuration shapes shared by the vision modules and workers.

/** An axis-aligned rectangle in frame pixel coordinates (origin top-left). */
export interface Box {
  x: number
  y: number
  w: number
  h: number
}

/** Payload of a `motion` event (see docs/vision.md). */
export interface MotionEventPayload {
  seq: string
  captureTsNs: string
  boxes: Box[]
}

/** One object found by the detection service, mapped back to frame coordinates. */
export interface Detection {
  label: string
  confidence: number
  box: Box
}

/** Payload of a `detection` event. */
export interface DetectionEventPayload {
  seq: string
  captureTsNs: string
  latencyMs: number
  detections: Detection[]
}

/**
 * A read-only view of one frame as the vision code needs it: the bytes of the
 * ring slot (or any buffer) plus the plane layout. Kept structurally compatible
 * with `FrameLease` from @heart/ring so a lease can be passed as is.
 */
export interface FrameView {
  width: number
  height: number
  pixFmt: 'yuv420p' | 'nv12' | 'gray' | 'rgb24' | 'bgr24' | 'grayf32'
  planes: ReadonlyArray<{ offset: number; stride: number; width: number; height: number }>
  bytes: Uint8Array
}
