// Memory layout of the JPEG share: the SharedArrayBuffer through which the
// encoder worker hands finished JPEGs to the main thread. The header is a
// shared block (@heart/ring's helper: magic, version, length, named words);
// the slots follow it in the block's tail:
//
//   [block header + named words][slot header 0: 64 bytes][slot header 1: 64 bytes][data 0][data 1]
//
// Int32 word indexes are for an Int32Array over the whole buffer; BigInt64
// indexes are for a BigInt64Array over the whole buffer (8-byte aligned).
import { SHARED_BLOCK_HEADER, defineSharedBlock } from '@heart/ring'
import { badJpegShare } from './errors.js'

/** Two slots: the writer fills one while readers copy the other. */
export const SLOT_COUNT = 2

export const SLOT_HEADER_BYTES = 64

export const shareLayout = defineSharedBlock({
  name: 'JPEG share',
  magic: 0x4a504753, // 'JPGS'
  version: 2,
  i32: [
    'slotCount',
    'slotBytes',
    /** Bumped (wrapping) after every publish; readers Atomics.wait/waitAsync on it. */
    'published',
    /** Index of the most recently completed slot, -1 before the first. */
    'latestSlot',
    /**
     * 1 while the main thread wants JPEGs (a viewer is connected or a snapshot
     * waits), else 0; the encoder worker waits on it and is out of the ring
     * meanwhile.
     */
    'wanted',
  ],
  refuse: badJpegShare,
})

// Header words, for tests that forge a header.
export const H_MAGIC = SHARED_BLOCK_HEADER.magic
export const H_VERSION = SHARED_BLOCK_HEADER.version

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
  return shareLayout.tailOffset + slot * SLOT_HEADER_BYTES
}

export function slotDataByte(slot: number, slotBytes: number): number {
  return shareLayout.tailOffset + SLOT_COUNT * SLOT_HEADER_BYTES + slot * slotBytes
}

/** Bytes of the block's tail: the slot headers and the slots. */
export function shareTailBytes(slotBytes: number): number {
  return SLOT_COUNT * (SLOT_HEADER_BYTES + slotBytes)
}

export function shareByteLength(slotBytes: number): number {
  return slotDataByte(SLOT_COUNT, slotBytes)
}
