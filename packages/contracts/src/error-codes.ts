// Every `err.code` heart raises, in one scheme: bare UPPER_SNAKE codes,
// prefixed by their area where the bare word would be ambiguous (RING_*,
// STREAM_*, VISION_*, DETECTION_*, METRIC_*). docs/errors.md documents each
// one; a test keeps that page and these lists equal.
import type { NativeErrorCode as NapiNativeErrorCode } from '@heart/native'

/**
 * The codes @heart/native raises: the values of the crate's `NativeErrorCode`
 * enum (native/src/error.rs), checked against it at build time below.
 */
export const NATIVE_ERROR_CODES = Object.freeze([
  'INVALID_ARGUMENT',
  'CONNECT_REFUSED',
  'CONNECT_FAILED',
  'AUTH_FAILED',
  'STREAM_NOT_FOUND',
  'UNSUPPORTED_CODEC',
  'FORMAT_MISMATCH',
  'TIMEOUT',
  'ABORTED',
  'DECODE_ERROR',
  'END_OF_STREAM',
  'DEVICE_BUSY',
  'PERMISSION_DENIED',
  'BUFFER_TOO_SMALL',
  'CLOSED',
  'BUSY',
  'ENCODE_ERROR',
  'I2C_ERROR',
  'IO_ERROR',
  'INTERNAL',
] as const)
export type NativeErrorCode = (typeof NATIVE_ERROR_CODES)[number]

// The crate's `#[napi] enum NativeErrorCode` is the truth; this list is what
// code without the addon types against. The build fails (here, naming the
// missing codes) when a Rust change adds, removes or renames a code and this
// list is not changed with it. Type-only: nothing here loads the addon.
type CratesNativeErrorCode = `${NapiNativeErrorCode}`
const nativeListHasEveryCrateCode: Exclude<CratesNativeErrorCode, NativeErrorCode> extends never ? true : Exclude<CratesNativeErrorCode, NativeErrorCode> = true
const crateHasEveryListedCode: Exclude<NativeErrorCode, CratesNativeErrorCode> extends never ? true : Exclude<NativeErrorCode, CratesNativeErrorCode> = true
void nativeListHasEveryCrateCode
void crateHasEveryListedCode

/** Codes capture raises itself (native codes pass through it unchanged). */
export const CAPTURE_ERROR_CODES = Object.freeze([
  'INVALID_SOURCE',
  'INVALID_CONFIG',
  'STALLED',
  'STREAM_ENDED',
  'SLOT_TOO_SMALL',
  'NATIVE_UNAVAILABLE',
  'UNKNOWN',
] as const)

export const KERNEL_ERROR_CODES = Object.freeze([
  'CONFIG_INVALID',
  'CONFIG_UNREADABLE',
  'SERVICE_EXISTS',
  'SERVICE_NOT_FOUND',
  'NOT_IN_WORKER',
] as const)

export const CLI_ERROR_CODES = Object.freeze(['USAGE', 'HTTP_AUTH_REQUIRED', 'HTTP_AUTH_CONFLICT', 'HTTP_TOKEN_INVALID', 'HTTP_TLS_UNREADABLE'] as const)

export const RING_ERROR_CODES = Object.freeze([
  'RING_INVALID_ARGUMENT',
  'RING_LAYOUT_MISMATCH',
  'RING_SHARED_BLOCK_MISMATCH',
  'RING_FULL_OF_CONSUMERS',
  'RING_LEASE_LIMIT',
  'RING_FOREIGN_LEASE',
  'RING_CONSUMER_CLOSED',
  'RING_FRAME_TOO_LARGE',
  'RING_SLOTS_EXHAUSTED',
] as const)

export const STREAM_ERROR_CODES = Object.freeze([
  'STREAM_CONFIG',
  'STREAM_JPEG_TOO_LARGE',
  'STREAM_SHARE',
  'STREAM_ENCODER_MODULE',
  'STREAM_SHARED_MISSING',
] as const)

export const TELEMETRY_ERROR_CODES = Object.freeze([
  'METRICS_BUFFER',
  'METRICS_CATALOGUE',
  'METRICS_DECLARATION',
  'METRIC_UNKNOWN',
  'METRIC_KIND',
  'METRIC_ATTRIBUTES',
  'HISTOGRAM_OPTIONS',
  'HISTOGRAM_MEMORY',
  'HISTOGRAM_SNAPSHOT',
  'COUNTER_INCREMENT',
  'TRACE_TABLE',
  'TRACING_OPTIONS',
  'TELEMETRY_CONFIG',
  'CONSUME_LOG',
] as const)

export const THERMAL_ERROR_CODES = Object.freeze([
  'EEPROM_LENGTH',
  'EEPROM_INVALID',
  'TOO_MANY_BAD_PIXELS',
  'ADJACENT_BAD_PIXELS',
  'FRAME_LENGTH',
  'FRAME_INVALID',
  'OUT_LENGTH',
  'I2C_NACK',
  'I2C_TIMEOUT',
  'I2C_IO',
  'CONFIG_MISMATCH',
  'NOT_READY',
  'BAD_ARGUMENT',
  'READ_ONLY',
] as const)

export const VISION_ERROR_CODES = Object.freeze([
  'VISION_INVALID_OPTION',
  'VISION_PLANE_TOO_SMALL',
  'VISION_PIXEL_FORMAT',
  'DETECTION_BAD_RESPONSE',
  'DETECTION_SERVICE',
  'DETECTION_TIMEOUT',
  'DETECTION_UNREACHABLE',
  'DETECTION_ABORTED',
  'DETECTION_INTERNAL',
] as const)

/** Broker failures, shown in /health (mqtt.last_error) and the log; never thrown at the camera. */
export const MQTT_ERROR_CODES = Object.freeze(['MQTT_AUTH_REFUSED', 'MQTT_REFUSED', 'MQTT_UNREACHABLE', 'MQTT_CONNECTION_LOST'] as const)

export type CaptureErrorCode = (typeof CAPTURE_ERROR_CODES)[number]
export type KernelErrorCode = (typeof KERNEL_ERROR_CODES)[number]
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number]
export type RingErrorCode = (typeof RING_ERROR_CODES)[number]
export type StreamErrorCode = (typeof STREAM_ERROR_CODES)[number]
export type TelemetryErrorCode = (typeof TELEMETRY_ERROR_CODES)[number]
export type ThermalErrorCode = (typeof THERMAL_ERROR_CODES)[number]
export type VisionErrorCode = (typeof VISION_ERROR_CODES)[number]
export type MqttErrorCode = (typeof MQTT_ERROR_CODES)[number]

/** Every code, by the area that raises it: the list docs/errors.md is checked against. */
export const ERROR_CODES_BY_AREA = Object.freeze({
  native: NATIVE_ERROR_CODES,
  capture: CAPTURE_ERROR_CODES,
  kernel: KERNEL_ERROR_CODES,
  cli: CLI_ERROR_CODES,
  ring: RING_ERROR_CODES,
  stream: STREAM_ERROR_CODES,
  telemetry: TELEMETRY_ERROR_CODES,
  thermal: THERMAL_ERROR_CODES,
  vision: VISION_ERROR_CODES,
  mqtt: MQTT_ERROR_CODES,
} as const)

export type ErrorCode =
  | NativeErrorCode
  | CaptureErrorCode
  | KernelErrorCode
  | CliErrorCode
  | RingErrorCode
  | StreamErrorCode
  | TelemetryErrorCode
  | ThermalErrorCode
  | VisionErrorCode
  | MqttErrorCode
