// Message and payload shapes of @heart/stream. Everything that crosses a thread
// boundary or goes over HTTP as JSON is declared here, in one place.

/** The route shape the `heart` CLI mounts (defined by @heart/kernel). */
export type { HttpRoute } from '@heart/contracts'

/** What the encoder knows about one JPEG it produced. */
export interface JpegFrameMeta {
  /** The ring sequence number of the source frame. */
  seq: bigint
  /** Monotonic capture time of the source frame (CLOCK_MONOTONIC ns). */
  captureTsNs: bigint
  /** Monotonic time the JPEG was finished. */
  encodedTsNs: bigint
  /** Size of the source frame: the coordinate space of motion boxes and detections. */
  srcWidth: number
  srcHeight: number
  /** Size of the JPEG. */
  width: number
  height: number
  /** Time spent in the encoder for this frame, in microseconds. */
  encodeUs: number
  /** Source frame flags (FrameFlags bits from @heart/ring, e.g. AI-locked). */
  flags: number
}

/** A finished JPEG with its metadata, as the hub holds it. */
export interface EncodedFrame {
  jpeg: Buffer
  meta: JpegFrameMeta
}

/** A rectangle in source-frame pixels. */
export interface Box {
  x: number
  y: number
  w: number
  h: number
}

/**
 * `motion` event payload (contract). `frameWidth`/`frameHeight` are optional:
 * when present they name the coordinate space of `boxes` (a detector that works
 * on a downscaled frame sets them); when absent boxes are in source-frame pixels.
 */
export interface MotionPayload {
  seq: number | string
  captureTsNs?: string
  boxes: Box[]
  frameWidth?: number
  frameHeight?: number
}

export interface Detection {
  label: string
  confidence: number
  box: Box
}

/** `detection` event payload (contract), with the same optional coordinate space as motion. */
export interface DetectionPayload {
  seq: number | string
  captureTsNs?: string
  latencyMs?: number
  detections: Detection[]
  frameWidth?: number
  frameHeight?: number
}

/**
 * What the live view needs from a `thermal.frame` event: the contract's
 * `{ seq, tsNs, ta, min, max }` plus the temperatures themselves, row-major,
 * `width` x `height` (32 x 24 for the MLX90640, so 768 values) in °C.
 * When the event carries no temperatures, `LiveFeed` asks its optional
 * `thermalLatest()` source for them.
 */
export interface ThermalPayload {
  seq: number | string
  tsNs?: string
  ta: number
  min?: number
  max?: number
  width?: number
  height?: number
  temperatures?: ArrayLike<number>
}

/** The thermal frame as the live view receives it (SSE `thermal`). */
export interface ThermalView {
  seq: string
  tsNs: string | null
  ta: number
  min: number
  max: number
  width: number
  height: number
  /** °C rounded to 0.1 to keep the event small. */
  temperatures: number[]
}

/** JSON form of JpegFrameMeta (bigints as decimal strings), sent as SSE `frame` and in /frames/latest.json. */
export type FrameMetaJson = {
  [K in keyof JpegFrameMeta]: JpegFrameMeta[K] extends bigint ? string : JpegFrameMeta[K]
} & {
  /** Size of the JPEG in bytes. */
  bytes: number
}

/** Configuration of the encoder worker (structured-cloned into it by the supervisor). */
export interface EncoderConfig {
  /** Encoded frames per second at most. Default 15. */
  fps?: number
  /**
   * JPEG size. Default 960 wide with the height following the source's aspect
   * ratio; 0 for a side means "follow the other side's scale", both 0 keeps
   * the source size.
   */
  width?: number
  height?: number
  /** JPEG quality, 1 (smallest) .. 100 (best), as the native encodeJpeg takes it. Default 75. */
  quality?: number
  /**
   * Module that exports `encodeJpeg` (the native addon by default). A file URL
   * or package name; tests pass a fake module here because functions cannot be
   * structured-cloned into a worker.
   */
  encoderModule?: string
}

/** Shape of the `encodeJpeg` the native addon exports. */
export interface JpegSourceLayout {
  width: number
  height: number
  pixFmt: string
  planes: Array<{ offset: number; stride: number; width: number; height: number }>
}

export type EncodeJpeg = (
  src: Uint8Array,
  srcLayout: JpegSourceLayout,
  opts: { width: number; height: number; quality: number },
) => Uint8Array

/** Per-viewer and total figures for /health and the docs. */
export interface HubStats {
  viewers: number
  published: number
  /** Parts written to viewers, all viewers together. */
  sent: number
  /** Frames viewers skipped because their socket had not drained. */
  skipped: number
  latestSeq: string | null
  latestBytes: number
  /** True while a viewer or a snapshot request wants JPEGs (the encoder works only then). */
  wanted: boolean
}
