// Public API of @heart/capture (named exports only).

// Main thread: run a camera.
export { CaptureService, CAPTURE_WORKER_ENTRY } from './capture-service.js'
export type { CaptureRoute, CaptureServiceOptions, CaptureSupervisor } from './capture-service.js'
export { resolveCaptureConfig, ringFrameSize, checkCameraOptions, cameraOptionsSchema, cameraOptionsShape, DEFAULT_MAX_SIZE, DECODER_NAMES, PIXEL_FORMAT_NAMES } from './config.js'
export type { CameraOptions, CaptureConfigInput } from './config.js'

// `heart probe URL`.
export { probeSource, formatProbe } from './native-source.js'
export type { ProbeResult } from './native-source.js'

// Source URLs and credentials.
export { parseSource, nativeSpec, reachabilityProbe, SOURCE_KINDS } from './sources/registry.js'
export { parseSize, SourceUrl } from './sources/url.js'
export { defineSourceKind } from './sources/kind.js'
export type { NativeSourceSpec, SourceBase, SourceKindModule } from './sources/kind.js'
export { DEFAULT_TEST_FPS, DEFAULT_TEST_SIZE } from './sources/testsrc.js'
export { redactUrl, redactText, secretsOf } from './redact.js'

// Errors.
export { CaptureError, wrapNativeError } from './errors.js'
export type { CaptureErrorCode } from './errors.js'

// Building blocks (own capture loops, other producers such as synthetic://, tests).
export { runCapture } from './capture-loop.js'
export type { CaptureLog, CaptureLoopOptions, CaptureObserver, FrameProducer } from './capture-loop.js'
export type { DecodedFrame, OpenedSource, OpenRequest, SourceInfo, SourceOpener } from './decoder.js'
export { nativeOpener } from './native-source.js'
export { ReconnectPolicy, DEFAULT_RECONNECT } from './reconnect.js'
export type { ReconnectDecision, PolicyDeps } from './reconnect.js'
export { tcpReachable } from './reachability.js'
export { createHealthBuffer, CaptureHealthReader, CaptureHealthWriter, healthStatus } from './health-block.js'
export type { HealthThresholds } from './health-block.js'
export { RateWindow, monotonicMs } from './stats.js'

export type {
  CameraHealth, CaptureConfig, CaptureExpectation, CaptureState, CaptureWorkerConfig, DecoderChoice, FileSource,
  HealthStatus, ReconnectConfig, RtspSource, Size, SourceKind, SourceSpec, SyntheticSource, TestSource, V4l2Source,
  VideoCodec,
} from './types.js'

// synthetic:// (drawn, not decoded) and its checker, for load tests and the frame_verifier consumer.
export { openSynthetic, drawSyntheticFrame, checkSyntheticFrame, syntheticBaseRow } from './synthetic-source.js'
export type { SyntheticCheck } from './synthetic-source.js'
export { CaptureMetric, captureMetrics } from './metrics.js'
