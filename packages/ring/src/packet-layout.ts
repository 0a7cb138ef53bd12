// Every offset into a packet ring's SharedArrayBuffer lives in this file, so
// the producer (the capture worker) and every reader thread agree on the
// layout by construction. Bump PACKET_RING_VERSION whenever anything here
// changes: attach() refuses a buffer of another build.
//
//   [shared-block header + named words][index: indexEntries x 64 bytes]
//   [codec config: 4 KiB][data: dataBytes, records contiguous, wrap to 0]
//
// Sequence numbers and byte positions are JS numbers (exact up to 2^53:
// millions of years of packets), never BigInt on the producer's side:
// a BigInt is a heap allocation and the producer allocates nothing per packet.
import { layoutMismatch } from './errors.js'
import { SharedBlock, defineSharedBlock, type SharedBlockOf } from './shared-block.js'

export const PACKET_RING_MAGIC = 0x4852504b // "HRPK"
export const PACKET_RING_VERSION = 1

/** Room for the codec's parameter sets (SPS/PPS/VPS); real ones are well under 1 KiB. */
export const CODEC_CONFIG_BYTES = 4096

export const packetRingLayout = defineSharedBlock({
  name: 'packet ring',
  magic: PACKET_RING_MAGIC,
  version: PACKET_RING_VERSION,
  i32: [
    'dataBytes',
    'indexEntries',
    /** Bumped by every setStream(); stamped into each packet. */
    'epoch',
    /** The published count modulo 2^32: readers Atomics.wait on it, and it orders every packet's stores before their reads. */
    'publishTick',
    'producers',
    /** Seqlock word of the stream description below. */
    'streamGeneration',
    'streamCodec',
    'streamWidth',
    'streamHeight',
    'streamConfigLength',
    'streamEpoch',
  ],
  f64: [
    /** Packets published (= the next packet's seq); written before publishTick. */
    'published',
    /** Absolute byte count where the next record goes (before any wrap skip). */
    'writePos',
    'streamFps',
  ],
  refuse: (problem) => layoutMismatch(`packet ring: ${problem}`),
})
export type PacketRingBlock = SharedBlockOf<typeof packetRingLayout>

// Index entry: 8 eight-byte words. Int32 fields (index into an Int32Array at entry * ENTRY_I32):
/** stampOf(seq) once the entry is complete; 0 while it is being (re)written or after its bytes were overwritten. */
export const E_STAMP = 0
export const E_LENGTH = 1
export const E_FLAGS = 2
export const E_EPOCH = 3
// Float64 fields (index into a Float64Array at entry * ENTRY_WORDS):
export const EF_SEQ = 2
/** Absolute byte position of the record's first byte (data offset = position % dataBytes). */
export const EF_POSITION = 3
export const EF_PTS_US = 4
export const EF_DTS_US = 5
export const EF_DURATION_US = 6
// BigInt64 field:
export const EB_CAPTURE_TS = 7
export const ENTRY_WORDS = 8
export const ENTRY_I32 = ENTRY_WORDS * 2
export const ENTRY_BYTES = ENTRY_WORDS * 8

export const PacketFlags = {
  KEYFRAME: 1,
} as const

export const PACKET_CODECS = Object.freeze(['h264', 'hevc'] as const)
export type PacketCodec = (typeof PACKET_CODECS)[number]
/** Stored codes: the codec's index in PACKET_CODECS plus one (0: no stream yet). */
export function packetCodecCode(codec: PacketCodec): number {
  return PACKET_CODECS.indexOf(codec) + 1
}

/**
 * Why a reader did not get a packet published while it read the ring.
 * `slow` (reported as `<reader>_slow`, as the frame ring does): the producer
 * overwrote it before the reader got to it, or it came after such a gap and
 * before the next keyframe. `no_keyframe`: it came before the first keyframe
 * the reader could start from (a new epoch that opened on a delta frame, or a
 * start with no keyframe held).
 */
export const PACKET_DROP_REASON_NAMES = Object.freeze(['slow', 'no_keyframe'] as const)
export const PacketDropReason = { SLOW: 0, NO_KEYFRAME: 1 } as const
export type PacketDropReasonCode = (typeof PacketDropReason)[keyof typeof PacketDropReason]

/**
 * An entry's stamp for `seq`: never 0 (the invalid stamp), and different for
 * any two seqs that share the entry within 2^31 packets.
 */
export function stampOf(seq: number): number {
  return (seq % 0x7ffffffe) + 1
}

export function tailBytesFor(dataBytes: number, indexEntries: number): number {
  return indexEntries * ENTRY_BYTES + CODEC_CONFIG_BYTES + dataBytes
}

/** Typed views over one packet ring, built the same way in every thread. Internal. */
export class PacketViews {
  readonly block: PacketRingBlock
  readonly dataBytes: number
  readonly indexEntries: number
  readonly index32: Int32Array
  readonly indexF64: Float64Array
  readonly index64: BigInt64Array
  readonly config: Uint8Array
  readonly data: Uint8Array
  readonly header: Int32Array
  readonly headerF64: Float64Array

  constructor(block: PacketRingBlock) {
    const { i32 } = packetRingLayout
    this.block = block
    this.header = block.i32
    this.headerF64 = block.f64
    this.dataBytes = block.i32[i32.dataBytes]!
    this.indexEntries = block.i32[i32.indexEntries]!
    const indexAt = block.layout.tailOffset
    const configAt = indexAt + this.indexEntries * ENTRY_BYTES
    const dataAt = configAt + CODEC_CONFIG_BYTES
    this.index32 = new Int32Array(block.buffer, indexAt, this.indexEntries * ENTRY_I32)
    this.indexF64 = new Float64Array(block.buffer, indexAt, this.indexEntries * ENTRY_WORDS)
    this.index64 = new BigInt64Array(block.buffer, indexAt, this.indexEntries * ENTRY_WORDS)
    this.config = new Uint8Array(block.buffer, configAt, CODEC_CONFIG_BYTES)
    this.data = new Uint8Array(block.buffer, dataAt, this.dataBytes)
  }

  static attach(buffer: unknown): PacketViews {
    const block = SharedBlock.attach(packetRingLayout, buffer)
    const { i32 } = packetRingLayout
    const dataBytes = block.i32[i32.dataBytes]!
    const indexEntries = block.i32[i32.indexEntries]!
    const expected = Math.ceil(tailBytesFor(dataBytes, indexEntries) / 8) * 8
    if (dataBytes < 1 || indexEntries < 1 || block.tailBytes !== expected) {
      throw layoutMismatch(`packet ring: its header describes ${dataBytes} data bytes and ${indexEntries} index entries (${expected} bytes after the header), the buffer has ${block.tailBytes}`)
    }
    return new PacketViews(block)
  }

  /** Packets published so far, read consistently (the Float64 checked against the atomic tick). */
  published(): number {
    const tickWord = packetRingLayout.i32.publishTick
    const publishedSlot = packetRingLayout.f64.published
    let published = 0
    for (let attempt = 0; attempt < 1000; attempt++) {
      const tick = Atomics.load(this.header, tickWord)
      published = this.headerF64[publishedSlot]!
      // The producer writes the Float64 before the tick: a mismatch means it moved on meanwhile.
      if ((published | 0) === tick) return published
    }
    return published
  }

  /** The entry holds a complete record of `seq` right now. */
  holds(seq: number): boolean {
    const e = seq % this.indexEntries
    return Atomics.load(this.index32, e * ENTRY_I32 + E_STAMP) === stampOf(seq) && this.indexF64[e * ENTRY_WORDS + EF_SEQ] === seq
  }

  /**
   * The entry still holds `seq` after the caller read it. A read-modify-write
   * rather than a load: it cannot take effect before the caller's plain
   * reads of the record (a plain load may pass an acquiring load on weakly
   * ordered CPUs), so a producer that invalidated the entry before
   * overwriting its bytes is always seen.
   */
  stillHolds(seq: number): boolean {
    const e = seq % this.indexEntries
    const stamp = stampOf(seq)
    return Atomics.compareExchange(this.index32, e * ENTRY_I32 + E_STAMP, stamp, stamp) === stamp && this.indexF64[e * ENTRY_WORDS + EF_SEQ] === seq
  }

  isKeyframe(seq: number): boolean {
    return (this.index32[(seq % this.indexEntries) * ENTRY_I32 + E_FLAGS]! & PacketFlags.KEYFRAME) !== 0
  }

  captureTsNs(seq: number): bigint {
    return this.index64[(seq % this.indexEntries) * ENTRY_WORDS + EB_CAPTURE_TS]!
  }

  /** The oldest seq the index can still hold, given `published`. */
  oldestPossible(published: number): number {
    return Math.max(0, published - this.indexEntries)
  }
}
