export type { HttpRoute, HttpStreamKind } from './http.js'
export { SharedKey } from './shared-keys.js'
export type { SharedKeyName } from './shared-keys.js'
export {
  DROP_REASON_NAMES,
  SKIP_REASON_NAMES,
  LOSS_REASON_NAMES,
  NO_SLOT_REASON,
  FRAME_DROP_METRIC_REASONS,
  THERMAL_LOSS_REASONS,
  WORKER_EXIT_REASONS,
  VERIFY_PROBLEMS,
} from './reasons.js'
export type { DropReasonName, SkipReasonName, LossReasonName, FrameDropMetricReason, ThermalLossReason, VerifyProblem, WorkerExitReason } from './reasons.js'
export { PIXEL_FORMAT_NAMES, CAMERA_PIXEL_FORMATS, DECODER_NAMES } from './media.js'
export type { PixelFormatName, CameraPixelFormat, DecoderName } from './media.js'
export {
  NATIVE_ERROR_CODES,
  CAPTURE_ERROR_CODES,
  KERNEL_ERROR_CODES,
  CLI_ERROR_CODES,
  RING_ERROR_CODES,
  STREAM_ERROR_CODES,
  TELEMETRY_ERROR_CODES,
  THERMAL_ERROR_CODES,
  VISION_ERROR_CODES,
  MQTT_ERROR_CODES,
  ERROR_CODES_BY_AREA,
} from './error-codes.js'
export type {
  ErrorCode,
  NativeErrorCode,
  CaptureErrorCode,
  KernelErrorCode,
  CliErrorCode,
  RingErrorCode,
  StreamErrorCode,
  TelemetryErrorCode,
  ThermalErrorCode,
  VisionErrorCode,
  MqttErrorCode,
} from './error-codes.js'
export type { HealthChangePayload, WorkerCrashedPayload, HeartEventMap, HeartEventType } from './events.js'
export { CodedError } from './coded-error.js'
