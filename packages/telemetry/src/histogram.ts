// A fixed-size latency histogram whose state is plain Int32 words, so it can
// live in a SharedArrayBuffer region (any thread records, any thread reads) or
// in a local ArrayBuffer. All-zero memory is a valid empty histogram, so a
// worker can wrap a region of a fresh SharedArrayBuffer without an init step.

import { add64, read64 } from './int64.js'
import { BucketScheme, type HistogramOptions } from './buckets.js'
import { badHistogramMemory, incompatibleSnapshots } from './errors.js'
import {
  HISTOGRAM_HEADER_WORDS,
  HISTOGRAM_MAX_WORD,
  HISTOGRAM_MIN_UNSET,
  HISTOGRAM_MIN_WORD,
  HISTOGRAM_SUM_LOW_WORD,
} from './layout.js'

/** Where a histogram's words live: a region of a (Shared)ArrayBuffer. */
export interface HistogramMemory {
  buffer: ArrayBufferLike
  /** Multiple of 4; default 0. */
  byteOffset?: number
}

const I32_MAX = 0x7fffffff
// Per-record sum contributions are capped here so add64 stays exact.
const MAX_SUM_TICKS = 2 ** 52

export class Histogram {
  readonly scheme: BucketScheme
  private readonly words: Int32Array
  // The bucket counts alone, for a bulk copy in snapshot().
  private readonly bucketWords: Uint32Array

  /** Bytes a histogram with these options needs (a multiple of 8). */
  static byteLength(options: HistogramOptions | BucketScheme = {}): number {
    const scheme = options instanceof BucketScheme ? options : new BucketScheme(options)
    const words = HISTOGRAM_HEADER_WORDS + scheme.bucketCount
    return Math.ceil((words * 4) / 8) * 8
  }

  /**
   * Without `memory` the histogram owns a local ArrayBuffer. With it, every
   * thread that wraps the same region with the same options shares the counts.
   */
  constructor(options: HistogramOptions | BucketScheme = {}, memory?: HistogramMemory) {
    this.scheme = options instanceof BucketScheme ? options : new BucketScheme(options)
    const byteLength = Histogram.byteLength(this.scheme)
    if (memory === undefined) {
      this.words = new Int32Array(new ArrayBuffer(byteLength))
      this.bucketWords = new Uint32Array(this.words.buffer, HISTOGRAM_HEADER_WORDS * 4, this.scheme.bucketCount)
      return
    }
    const byteOffset = memory.byteOffset ?? 0
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
      throw badHistogramMemory(`byteOffset must be a non-negative multiple of 4, got ${byteOffset}`)
    }
    if (byteOffset + byteLength > memory.buffer.byteLength) {
      throw badHistogramMemory(
        `needs ${byteLength} bytes at offset ${byteOffset} but the buffer has ${memory.buffer.byteLength}; size it with Histogram.byteLength(options)`,
      )
    }
    this.words = new Int32Array(memory.buffer, byteOffset, byteLength / 4)
    this.bucketWords = new Uint32Array(memory.buffer, byteOffset + HISTOGRAM_HEADER_WORDS * 4, this.scheme.bucketCount)
  }

  /**
   * Hot path: records one value in the histogram's unit. Allocation-free; a
   * bucket add, a sum add and (rarely) a compare-exchange for max/min.
   * NaN is ignored; negatives count as 0.
   */
  record(value: number): void {
    if (value !== value) return
    const words = this.words
    Atomics.add(words, HISTOGRAM_HEADER_WORDS + this.scheme.indexOf(value), 1)
    let ticks = this.scheme.ticks(value)
    if (!(ticks > 0)) ticks = 0
    else if (ticks > MAX_SUM_TICKS) ticks = MAX_SUM_TICKS
    const rounded = Math.round(ticks)
    if (rounded > 0) add64(words, HISTOGRAM_SUM_LOW_WORD, rounded)
    // max holds ceil(ticks); min is stored inverted (I32_MAX - floor(ticks)) so
    // that all-zero memory means "no minimum yet" and both use the same raise.
    raiseTo(words, HISTOGRAM_MAX_WORD, ticks >= I32_MAX ? I32_MAX : Math.ceil(ticks))
    raiseTo(words, HISTOGRAM_MIN_WORD, I32_MAX - (ticks >= I32_MAX ? I32_MAX : Math.floor(ticks)))
  }

  /** Copies the live state. Pass `into` to reuse a snapshot and allocate nothing. */
  snapshot(into?: HistogramSnapshot): HistogramSnapshot {
    const target = into ?? new HistogramSnapshot(this.scheme)
    if (target.scheme !== this.scheme && target.scheme.describe() !== this.scheme.describe()) {
      throw incompatibleSnapshots('the target snapshot was made for a histogram with other bucket options')
    }
    const counts = target.counts
    // A bulk copy: each aligned u32 element read is tear-free in the JS memory
    // model, and a snapshot is not an atomic cut anyway (records keep landing
    // while it is taken), so per-element Atomics.load would only cost time.
    counts.set(this.bucketWords)
    let count = 0
    for (let i = 0; i < counts.length; i++) count += counts[i]!
    target.count = count
    target.sumTicks = read64(this.words, HISTOGRAM_SUM_LOW_WORD)
    target.maxTicks = Atomics.load(this.words, HISTOGRAM_MAX_WORD)
    const minStored = Atomics.load(this.words, HISTOGRAM_MIN_WORD)
    target.minTicks = minStored === 0 ? HISTOGRAM_MIN_UNSET : I32_MAX - minStored
    target.boundsExact = true
    return target
  }

  /** Convenience for `snapshot().percentile(p)` (allocates a snapshot). */
  percentile(p: number): number {
    return this.snapshot().percentile(p)
  }

  /** Zeroes the counts. Not atomic with respect to concurrent record() calls. */
  reset(): void {
    this.words.fill(0)
  }
}

function raiseTo(words: Int32Array, index: number, value: number): void {
  let current = Atomics.load(words, index)
  while (value > current) {
    const seen = Atomics.compareExchange(words, index, current, value)
    if (seen === current) return
    current = seen
  }
}

/**
 * A copy of a histogram's state at one moment. Snapshots of the same
 * histogram can be subtracted (`later.minus(earlier)`) to get the
 * distribution of just the values recorded in between.
 */
export class HistogramSnapshot {
  readonly scheme: BucketScheme
  readonly counts: Uint32Array
  count = 0
  sumTicks = 0
  maxTicks = 0
  minTicks = HISTOGRAM_MIN_UNSET
  /** False for differences: max/min are then bucket-accurate estimates. */
  boundsExact = true

  constructor(scheme: BucketScheme) {
    this.scheme = scheme
    this.counts = new Uint32Array(scheme.bucketCount)
  }

  get sum(): number {
    return this.sumTicks * this.scheme.lowest
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count
  }

  /** Largest recorded value (tick precision); NaN when empty. */
  get max(): number {
    return this.count === 0 ? NaN : this.maxTicks * this.scheme.lowest
  }

  /** Smallest recorded value (tick precision); NaN when empty. */
  get min(): number {
    return this.count === 0 ? NaN : this.minTicks * this.scheme.lowest
  }

  /**
   * The value at percentile p (0..100): the middle of the bucket holding that
   * rank, clamped to [min, max]; within half a bucket (<= 1.6 % with the
   * default 32 slices) of the true value. NaN when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return NaN
    const clampedP = p <= 0 ? 0 : p >= 100 ? 100 : p
    const rank = Math.max(1, Math.ceil((clampedP / 100) * this.count))
    // The extreme ranks are known better than any bucket midpoint.
    if (rank >= this.count) return this.max
    if (rank === 1) return this.min
    const counts = this.counts
    let seen = 0
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!
      if (seen >= rank) return this.clampToRange(this.representative(i))
    }
    return this.max
  }

  /**
   * Values at or below `bound`, for Prometheus-style cumulative buckets. A
   * bucket that straddles the bound counts if its middle is at or below it,
   * so the answer is off by at most half a bucket (<= 1.6 %) in value.
   */
  cumulativeCount(bound: number): number {
    const counts = this.counts
    const scheme = this.scheme
    let total = 0
    for (let i = 0; i < counts.length - 1; i++) {
      if (scheme.midpoint(i) > bound) return total
      total += counts[i]!
    }
    return total
  }

  /** cumulativeCount for each of `bounds` (ascending) in one pass over the buckets. */
  cumulativeCounts(bounds: readonly number[]): number[] {
    const out = new Array<number>(bounds.length)
    const counts = this.counts
    const scheme = this.scheme
    const last = counts.length - 1 // overflow only counts towards +Inf
    let i = 0
    let total = 0
    for (let b = 0; b < bounds.length; b++) {
      const bound = bounds[b]!
      while (i < last && scheme.midpoint(i) <= bound) total += counts[i++]!
      out[b] = total
    }
    return out
  }

  /** The values recorded after `earlier` was taken, as a new snapshot. */
  minus(earlier: HistogramSnapshot, into?: HistogramSnapshot): HistogramSnapshot {
    if (earlier.scheme !== this.scheme && earlier.scheme.describe() !== this.scheme.describe()) {
      throw incompatibleSnapshots('they come from histograms with different bucket options')
    }
    const target = into ?? new HistogramSnapshot(this.scheme)
    let count = 0
    let lowest = -1
    let highest = -1
    for (let i = 0; i < this.counts.length; i++) {
      // Modular difference keeps working across a u32 wrap of a bucket.
      const c = (this.counts[i]! - earlier.counts[i]!) >>> 0
      target.counts[i] = c
      if (c > 0) {
        if (lowest < 0) lowest = i
        highest = i
      }
      count += c
    }
    target.count = count
    target.sumTicks = Math.max(0, this.sumTicks - earlier.sumTicks)
    if (count === 0) {
      target.maxTicks = 0
      target.minTicks = HISTOGRAM_MIN_UNSET
    } else {
      // The window's true extremes are unknown; bound them by the occupied
      // buckets and by the all-time extremes.
      const inverse = 1 / this.scheme.lowest
      target.maxTicks = Math.min(this.maxTicks, Math.ceil(this.scheme.upperBound(highest) * inverse))
      target.minTicks = Math.max(this.minTicks, Math.floor(this.scheme.lowerBound(lowest) * inverse))
    }
    target.boundsExact = false
    return target
  }

  private representative(index: number): number {
    const scheme = this.scheme
    if (index >= scheme.overflowIndex) return this.max
    return (scheme.lowerBound(index) + scheme.upperBound(index)) / 2
  }

  private clampToRange(value: number): number {
    const max = this.max
    const min = this.min
    if (value > max) return max
    if (value < min) return min
    return value
  }
}

/**
 * Percentiles over a sliding window: call rotate() at a steady interval (say
 * every second from the tick loop) and snapshot() returns the values recorded
 * during the last `intervals` completed intervals plus the current one.
 * Every buffer is allocated up front; rotate() and snapshot() allocate nothing.
 */
export class HistogramWindow {
  private readonly ring: HistogramSnapshot[]
  private oldest = 0
  private readonly live: HistogramSnapshot
  private readonly delta: HistogramSnapshot

  constructor(
    private readonly histogram: Histogram,
    intervals: number,
  ) {
    if (!Number.isInteger(intervals) || intervals < 1) {
      throw incompatibleSnapshots(`a window needs a whole number of intervals >= 1, got ${intervals}`)
    }
    this.ring = []
    for (let i = 0; i <= intervals; i++) this.ring.push(histogram.snapshot())
    this.live = new HistogramSnapshot(histogram.scheme)
    this.delta = new HistogramSnapshot(histogram.scheme)
  }

  /** Closes the current interval. */
  rotate(): void {
    this.histogram.snapshot(this.ring[this.oldest])
    this.oldest = (this.oldest + 1) % this.ring.length
  }

  /** The window's distribution. The returned object is reused by the next call. */
  snapshot(): HistogramSnapshot {
    this.histogram.snapshot(this.live)
    return this.live.minus(this.ring[this.oldest]!, this.delta)
  }

  percentile(p: number): number {
    return this.snapshot().percentile(p)
  }
}
