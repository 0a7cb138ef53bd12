// Every shared-memory offset of the metrics buffer lives here, so the writer in
// one thread and the reader in another cannot disagree about where a field is.
// Offsets are in bytes unless the name says WORDS (Int32 words).
import { defineSharedBlock } from '@heart/ring'
import { badTraceTable } from './errors.js'

/** 'HTEL' in ASCII: the first word of every metrics buffer. */
export const METRICS_MAGIC = 0x4854454c
/** Bumped whenever the layout below changes incompatibly. */
export const METRICS_LAYOUT_VERSION = 1

// Header, Int32 word indices.
export const HEADER_MAGIC_WORD = 0
export const HEADER_VERSION_WORD = 1
export const HEADER_CATALOGUE_HASH_WORD = 2
export const HEADER_BYTE_LENGTH_WORD = 3
export const HEADER_INSTANCE_COUNT_WORD = 4
/** Header size; the rest of the 64 bytes is reserved for later fields. */
export const HEADER_BYTES = 64

// A counter is a u64 split in two u32 words: [low, high].
export const COUNTER_BYTES = 8
export const COUNTER_LOW_WORD = 0
export const COUNTER_HIGH_WORD = 1

// A gauge is a seqlock word, a pad word, then the float64 value (8-aligned).
export const GAUGE_BYTES = 16
export const GAUGE_SEQ_WORD = 0
export const GAUGE_VALUE_BYTE_OFFSET = 8

// A histogram region: a small header then one u32 count per bucket.
// sum is a u64 of "ticks" (value / lowest, rounded) as [low, high];
// max/min are ticks in an i32 updated by compare-exchange.
export const HISTOGRAM_SUM_LOW_WORD = 0
export const HISTOGRAM_SUM_HIGH_WORD = 1
export const HISTOGRAM_MAX_WORD = 2
export const HISTOGRAM_MIN_WORD = 3
export const HISTOGRAM_HEADER_WORDS = 4
/** min starts here so that the first recorded value always replaces it. */
export const HISTOGRAM_MIN_UNSET = 0x7fffffff

/** Every region starts 8-byte aligned so Float64Array views over it are legal. */
export const REGION_ALIGN = 8

export function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to
}

// ---- Trace context table (trace-table.ts) ----
// A small ring of slots keyed by frame seq: the capture worker writes a
// sampled frame's trace id and root span id; consumers in other threads look
// their frame's seq up. No postMessage per frame, no change to the frame ring.

/** The table's header (magic, version, byte length) comes from the shared-block helper; the slots are its tail. */
export const TRACE_TABLE_LAYOUT = defineSharedBlock({
  name: 'trace table',
  /** 'HTRC' in ASCII. */
  magic: 0x48545243,
  // 2: the shared-block header; the slot count follows from the byte length.
  version: 2,
  refuse: badTraceTable,
})
// Slot, Int32 words. seq is stored + 1 so that all-zero memory is "empty".
export const TRACE_SLOT_WORDS = 12
export const TRACE_SLOT_LOCK_WORD = 0
export const TRACE_SLOT_SEQ_LOW_WORD = 1
export const TRACE_SLOT_SEQ_HIGH_WORD = 2
export const TRACE_SLOT_FLAGS_WORD = 3
/** 4 words: the 16-byte trace id, big-endian words as in its hex form. */
export const TRACE_SLOT_TRACE_ID_WORD = 4
/** 2 words: the 8-byte span id of the frame's root span. */
export const TRACE_SLOT_SPAN_ID_WORD = 8
