// Message and value shapes shared by the capture worker, the main-side
// service and the CLI.
import type { CameraHealth as CoreCameraHealth } from '@heart/kernel'

export type DecoderChoice = 'auto' | 'software' | 'vaapi' | 'cuda' | 'v4l2m2m'
export type SourceKind = 'rtsp' | 'file' | 'v4l2' | 'testsrc' | 'synthetic'
export type VideoCodec = 'h264' | 'hevc'
export interface Size { width: number; height: number }

interface SourceBase {
  /** The URL as given, with credentials: only ever handed to the decoder. */
  readonly url: string
  /** The URL safe for logs, errors, metrics and health. */
  readonly redacted: string
}
export interface RtspSource extends SourceBase {
  kind: 'rtsp'
  host: string
  port: number
  path: string
  transport: 'tcp' | 'udp'
  hasCredentials: boolean
}
export interface FileSource extends SourceBase { kind: 'file'; path: string; loop: boolean; realtime: boolean }
export interface V4l2Source extends SourceBase {
  kind: 'v4l2'
  device: string
  format?: 'mjpeg' | 'yuyv' | 'h264'
  size?: Size
  fps?: number
}
export interface TestSource extends SourceBase { kind: 'testsrc'; size: Size; fps: number; codec: VideoCodec }
export interface SyntheticSource extends SourceBase { kind: 'synthetic'; size: Size; fps: number }
export type SourceSpec = RtspSource | FileSource | V4l2Source | TestSource | SyntheticSource

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
}

export type CaptureState = 'idle' | 'connecting' | 'streaming' | 'backoff' | 'stopped'
export type HealthStatus = 'green' | 'yellow' | 'red'

/** The `camera` object of GET /health (DESIGN.md), plus a few extras. */
/** The camera section of /health: the kernel's DESIGN.md fields plus what capture knows besides. */
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
  /** Record into the shared metrics registry too (the same catalogue options the main thread used). */
  metrics?: { key: string; catalogue: import('@heart/telemetry').HeartCatalogueOptions }
}
