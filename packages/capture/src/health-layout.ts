// Byte layout of the capture health block: one SharedArrayBuffer per camera,
// written by the capture worker, read by the main thread without waiting
// (a seqlock), plus the AI-lock word the main thread writes. Every offset
// lives here so writer and reader cannot disagree.

export const HEALTH_MAGIC = 0x48434150 // "HCAP"
export const HEALTH_VERSION = 1

// Int32 words (index into an Int32Array over the whole buffer).
export const I32_MAGIC = 0
export const I32_VERSION = 1
/** Seqlock generation: odd while the worker is writing. */
export const I32_GENERATION = 2
export const I32_STATE = 3
/** 1 while the supervisor holds the camera down (POST /camera/down). Written by main, read per frame by the worker. */
export const I32_AI_LOCK = 4
export const I32_WIDTH = 5
export const I32_HEIGHT = 6
export const I32_WORDS = 16

// Float64 slots (index into a Float64Array over the whole buffer; starts after the Int32 words).
const F64_BASE = (I32_WORDS * 4) / 8
export const F64_FRAMES_PER_S = F64_BASE + 0
export const F64_DECODE_P50 = F64_BASE + 1
export const F64_DECODE_P99 = F64_BASE + 2
export const F64_DECODE_FIRST = F64_BASE + 3
export const F64_REOPENS = F64_BASE + 4
export const F64_DECODE_ERRORS = F64_BASE + 5
export const F64_FRAMES = F64_BASE + 6
export const F64_FAILURES = F64_BASE + 7
export const F64_SLOTS_FULL = F64_BASE + 8
/** Monotonic ms (process.hrtime) of the latest failure or decode error; NaN if none. */
export const F64_LAST_FAILURE_MS = F64_BASE + 9
/** Monotonic ms of the latest published frame; NaN if none yet. */
export const F64_LAST_FRAME_MS = F64_BASE + 10
/** Monotonic ms when the worker started. */
export const F64_STARTED_MS = F64_BASE + 11
export const F64_RECV_TO_PUBLISH_P50 = F64_BASE + 12
export const F64_RECV_TO_PUBLISH_P99 = F64_BASE + 13
export const F64_SLOTS = 16

// Length-prefixed UTF-8 strings: [u32 length][bytes...], each in a fixed field.
const STR_BASE = I32_WORDS * 4 + F64_SLOTS * 8
export interface StringField { offset: number; capacity: number }
export const STR_BACKEND: StringField = { offset: STR_BASE, capacity: 60 }
export const STR_CODEC: StringField = { offset: STR_BASE + 64, capacity: 28 }
export const STR_ERROR_CODE: StringField = { offset: STR_BASE + 96, capacity: 60 }
export const STR_SOURCE: StringField = { offset: STR_BASE + 160, capacity: 508 }
export const STR_ERROR_MESSAGE: StringField = { offset: STR_BASE + 672, capacity: 1020 }

export const HEALTH_BYTES = STR_BASE + 1696

export const STATE_CODES = ['idle', 'connecting', 'streaming', 'backoff', 'stopped'] as const
