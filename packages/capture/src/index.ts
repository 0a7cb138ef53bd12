// Public API of @heart/capture (named exports only).
export { CaptureError, wrapNativeError } from './errors.js'
export type { CaptureErrorCode } from './errors.js'
export { parseSource, parseSize } from './source-url.js'
export { redactUrl, redactText, secretsOf } from './redact.js'
export { ReconnectPolicy, DEFAULT_RECONNECT } from './reconnect.js'
export type { ReconnectDecision, PolicyDeps } from './reconnect.js'
export { tcpReachable, reachabilityProbe } from './reachability.js'
export { resolveCaptureConfig, DEFAULT_MAX_SIZE } from './config.js'
export type { CaptureConfigInput } from './config.js'
export { createHealthBuffer, CaptureHealthReader, CaptureHealthWriter, healthStatus } from './health-block.js'
export type { HealthThresholds } from './health-block.js'
export { LogHistogram, SampleWindow, RateWindow, monotonicMs } from './stats.js'
export type {
  CameraHealth, CaptureConfig, CaptureExpectation, CaptureState, FileSource, HealthStatus, ReconnectConfig, RtspSource,
  Size, SourceKind, SourceSpec, SyntheticSource, TestSource, V4l2Source, VideoCodec,
} from './types.js'
