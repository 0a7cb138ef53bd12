// Memory layout of the JPEG share: the SharedArrayBuffer through which the
// encoder worker hands finished JPEGs to the main thread. Every offset lives
// here so the writer (worker) and the reader (main) cannot disagree.
//
//   [header: 64 bytes][slot header 0: 64 bytes][slot header 1: 64 bytes][data 0][data 1]
//
// Int32 word indexes are for an Int32Array over the whole buffer; BigInt64
// indexes are for a BigInt64Array over the whole buffer (8-byte aligned).

export const SHARE_MAGIC = 0x4a504753 // 'JPGS'
export const SHARE_VERSION = 1

/** Two slots: the writer fills one while readers copy the other. */
export const SLOT_COUNT = 2

export const HEADER_BYTES = 64
export const SLOT_HEADER_BYTES = 64

// Header words (Int32 indexes).
export const H_MAGIC = 0
export const H_VERSION = 1
export const H_SLOT_COUNT = 2
export const H_SLOT_BYTES = 3
/** Bumped (wrapping) after every publish; readers Atomics.wait/waitAsync on it. */
export const H_PUBLISHED = 4
/** Index of the most recently completed slot, -1 before the first. */
export const H_LATEST_SLOT = 5

// Slot header fields, as offsets in Int32 words from the slot header's start.
/** Seqlock generation: odd while the writer is filling the slot. */
export const S_GEN = 0
export const S_LENGTH = 1
export const S_WIDTH = 2
export const S_HEIGHT = 3
export const S_SRC_WIDTH = 4
export const S_SRC_HEIGHT = 5
export const S_ENCODE_US = 6
export const S_FLAGS = 7
// 64-bit fields, as offsets in BigInt64 words from the slot header's start.
export const S64_SEQ = 4 // bytes 32..39
export const S64_CAPTURE_TS = 5 // bytes 40..47
export const S64_ENCODED_TS = 6 // bytes 48..55

export function slotHeaderByte(slot: number): number {
  return HEADER_BYTES + slot * SLOT_HEADER_BYTES
}

export function slotDataByte(slot: number, slotBytes: number): number {
  return HEADER_BYTES + SLOT_COUNT * SLOT_HEADER_BYTES + slot * slotBytes
}

export function shareByteLength(slotBytes: number): number {
  return slotDataByte(SLOT_COUNT, slotBytes)
}
