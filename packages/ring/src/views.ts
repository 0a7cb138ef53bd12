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
  SLOT_I32_WORDS,
  SLOT_I64_WORDS,
  computeOffsets,
  type RingGeometry,
  type RingOffsets,
} from './layout.js'

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
  /** The same memory as consumers64, as 32-bit halves (little-endian: low word first). */
  readonly consumers64Halves: Int32Array
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
    this.consumers64Halves = new Int32Array(buffer, o.consumersI64, g.maxConsumers * CONSUMER_I64_WORDS * 2)
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

  /**
   * Adds to a 64-bit consumer counter without allocating a BigInt. Each
   * counter has one writing thread (the consumer, or the producer for SLOW
   * drops), so the carry into the high word cannot race another writer; a
   * reader may see the carry late once every 2^32 increments, which only
   * affects a statistics read.
   */
  add64(word: number, n: number): void {
    const halves = this.consumers64Halves
    const before = Atomics.add(halves, word * 2, n) >>> 0
    if (before + n > 0xffffffff) Atomics.add(halves, word * 2 + 1, 1)
  }

  sub64(word: number, n: number): void {
    const halves = this.consumers64Halves
    const before = Atomics.sub(halves, word * 2, n) >>> 0
    if (before < n) Atomics.sub(halves, word * 2 + 1, 1)
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
}
