// Message and value shapes shared by the capture worker, the main-side
// service and the CLI.
import type { CameraHealth as CoreCameraHealth } from '@heart/kernel'

export type DecoderChoice = 'auto' | 'software' | 'vaapi' | 'cuda' | 'v4l2m2m'
export type VideoCodec = 'h264' | 'hevc'
export interface Size { width: number; height: number }

// Each source kind's spec lives in its module (./sources/); the union is the registry's.
export type { SourceKind, SourceSpec } from './sources/registry.js'
export type { RtspSource } from './sources/rtsp.js'
export type { FileSource } from './sources/file.js'
export type { V4l2Source } from './sources/v4l2.js'
export type { TestSource } from './sources/testsrc.js'
export type { SyntheticSource } from './sources/synthetic.js'

/** What the camera is expected to deliver; a mismatch fails at open, naming both. */
export interface CaptureExpectation {
  /** Accept only this codec (undefined: any codec the decoder supports). */
  codec?: VideoCodec
  /** Largest frame accepted; also sizes the ring's slots, so memory stays bounded. */
  maxSize: Size
}

export interface ReconnectConfig {
  /** First wait after a failure. */
  initialMs: number
  /** Cap of the exponential growth. */
  maxMs: number
  /** +/- fraction of randomness on each wait, so a fleet does not reconnect in lockstep. */
  jitter: number
  /** Period of the cheap reachability probe between full attempts (0 disables it). */
  probeIntervalMs: number
  /** Streaming this long counts as recovered: the next failure starts again at initialMs. */
  stableMs: number
}

export interface CaptureConfig {
  source: string
  expect: CaptureExpectation
  /** Pixel format written into the ring. */
  pixFmt: 'yuv420p' | 'nv12' | 'gray' | 'rgb24' | 'bgr24'
  /** No frame for this long while streaming = a stall: the source is reopened. */
  stallTimeoutMs: number
  /** Opening (connect + first keyframe) may take this long before it counts as a failure. */
  openTimeoutMs: number
  /** Health is red when the last frame is older than this. */
  redAfterMs: number
  /** Health stays yellow this long after the latest failure. */
  yellowForMs: number
  reconnect: ReconnectConfig
  /** Decoder threads (0: let the decoder choose). */
  decodeThreads: number
  /** Decoder backend: 'auto' tries hardware where present and falls back to software (health says which). */
  decoder: DecoderChoice
  /** What of each frame the ring holds: a region of the source, then a size, in the one copy. */
  output: { crop?: { x: number; y: number; width: number; height: number }; size?: Size }
  /** At most this many frames a second reach the ring (the others are decoded and skipped). */
  fpsCap?: number
}

export type CaptureState = 'idle' | 'connecting' | 'streaming' | 'backoff' | 'stopped'
export type HealthStatus = 'green' | 'yellow' | 'red'

/** The `camera` object of GET /health: the kernel's contract fields (docs/architecture.md, "Contracts") plus what capture knows besides. */
export interface CameraHealth extends CoreCameraHealth {
  state: CaptureState
  backend: string
  // extras
  status: HealthStatus
  source: string
  codec: string
  width: number
  height: number
  frames_total: number
  failures_total: number
  slots_full_total: number
  receive_to_publish_ms_p50: number | null
  receive_to_publish_ms_p99: number | null
  /** The latest failure as "CODE: message" (redacted), or null. */
  last_error: string | null
  last_error_code: string | null
}

/** What the capture worker receives as ctx.config (structured-cloned). */
export interface CaptureWorkerConfig {
  capture: CaptureConfig
  /** Keys of the shared buffers in ctx.shared. */
  ringKey: string
  healthKey: string
  /** The packet ring's key, when the camera's compressed packets are shared (recording, passthrough). */
  packetsKey?: string
  /** Record into the shared metrics registry too (the catalogue the main thread built it from). */
  metrics?: { key: string; catalogue: import('@heart/telemetry').Catalogue }
}
