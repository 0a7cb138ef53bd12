import {
  CONSUMER_I32_WORDS,
  CONSUMER_I64_WORDS,
  H_AUX_WORDS,
  H_MAX_CONSUMERS,
  H_QUEUE_CAPACITY,
  H_SLOT_BYTES,
  H_SLOT_COUNT,
  HEADER_I32_WORDS,
  HEADER_I64_WORDS,
  MAX_PLANES,
  PLANE_WORDS,
  S_BYTE_LENGTH,
  S_EPOCH,
  S_FLAGS,
  S_HEIGHT,
  S_PIXFMT,
  S_PLANE_COUNT,
  S_PLANES,
  S_WIDTH,
  SB_CAPTURE_TS,
  SB_DECODE_TS,
  SB_PUBLISH_TS,
  SB_SEQ,
  SLOT_I32_WORDS,
  SLOT_I64_WORDS,
  computeOffsets,
  type RingGeometry,
  type RingOffsets,
} from './layout.js'
import { pixelFormatName, type PlaneLayout } from './pixel-format.js'
import type { FrameInfo } from './types.js'

/**
 * Typed-array views over one ring buffer, built the same way in every thread.
 * Internal: producer, consumer and ring share it; apps never see it.
 */
export class RingViews {
  readonly buffer: SharedArrayBuffer
  readonly geometry: RingGeometry
  readonly offsets: RingOffsets
  readonly header: Int32Array
  readonly header64: BigInt64Array
  readonly consumers: Int32Array
  readonly consumers64: BigInt64Array
  readonly queues: Int32Array
  readonly slots: Int32Array
  readonly slots64: BigInt64Array
  readonly aux: Float64Array
  readonly pixels: Uint8Array

  constructor(buffer: SharedArrayBuffer, geometry: RingGeometry) {
    this.buffer = buffer
    this.geometry = geometry
    const o = computeOffsets(geometry)
    this.offsets = o
    const g = geometry
    this.header = new Int32Array(buffer, o.headerI32, HEADER_I32_WORDS)
    this.header64 = new BigInt64Array(buffer, o.headerI64, HEADER_I64_WORDS)
    this.consumers = new Int32Array(buffer, o.consumersI32, g.maxConsumers * CONSUMER_I32_WORDS)
    this.consumers64 = new BigInt64Array(buffer, o.consumersI64, g.maxConsumers * CONSUMER_I64_WORDS)
    this.queues = new Int32Array(buffer, o.queues, g.maxConsumers * g.queueCapacity)
    this.slots = new Int32Array(buffer, o.slotsI32, g.slotCount * SLOT_I32_WORDS)
    this.slots64 = new BigInt64Array(buffer, o.slotsI64, g.slotCount * SLOT_I64_WORDS)
    this.aux = new Float64Array(buffer, o.slotsAux, g.slotCount * g.auxWords)
    this.pixels = new Uint8Array(buffer, o.pixels, g.slotCount * g.slotBytes)
  }

  static geometryOf(header: Int32Array): RingGeometry {
    return {
      slotCount: header[H_SLOT_COUNT]!,
      slotBytes: header[H_SLOT_BYTES]!,
      maxConsumers: header[H_MAX_CONSUMERS]!,
      queueCapacity: header[H_QUEUE_CAPACITY]!,
      auxWords: header[H_AUX_WORDS]!,
    }
  }

  /** A view of one slot's pixel bytes: the producer writes here, consumers read in place. */
  slotBytes(index: number): Uint8Array {
    const size = this.geometry.slotBytes
    return new Uint8Array(this.buffer, this.offsets.pixels + index * size, size)
  }

  slotAux(index: number): Float64Array {
    const n = this.geometry.auxWords
    return new Float64Array(this.buffer, this.offsets.slotsAux + index * n * 8, n)
  }

  /**
   * Reads a slot's metadata. Only valid while the caller holds the slot (a
   * consumer with its bit set, or the producer before publishing): then the
   * producer cannot rewrite it, so plain reads are stable.
   */
  readInfo(index: number): FrameInfo {
    const s = index * SLOT_I32_WORDS
    const s64 = index * SLOT_I64_WORDS
    const slots = this.slots
    const planeCount = Math.min(slots[s + S_PLANE_COUNT]!, MAX_PLANES)
    const planes: PlaneLayout[] = []
    for (let p = 0; p < planeCount; p++) {
      const base = s + S_PLANES + p * PLANE_WORDS
      planes.push({ offset: slots[base]!, stride: slots[base + 1]!, width: slots[base + 2]!, height: slots[base + 3]! })
    }
    return {
      seq: this.slots64[s64 + SB_SEQ]!,
      captureTsNs: this.slots64[s64 + SB_CAPTURE_TS]!,
      decodeTsNs: this.slots64[s64 + SB_DECODE_TS]!,
      publishTsNs: this.slots64[s64 + SB_PUBLISH_TS]!,
      epoch: slots[s + S_EPOCH]!,
      width: slots[s + S_WIDTH]!,
      height: slots[s + S_HEIGHT]!,
      pixFmt: pixelFormatName(slots[s + S_PIXFMT]!),
      flags: slots[s + S_FLAGS]!,
      byteLength: slots[s + S_BYTE_LENGTH]!,
      planes,
    }
  }
}
