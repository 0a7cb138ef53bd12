// Log-linear buckets (the HdrHistogram idea, fixed size): values are measured
// in "ticks" of `lowest`; each power of two [2^e, 2^(e+1)) ticks is one octave,
// cut into `subBuckets` equal slices. A bucket is therefore at most 1/subBuckets
// wide relative to its lower bound (32 slices: <= 3.125 %), and finding it
// takes a multiply, a clz32 and a table lookup: no Math.log, no allocation.
//
// Bucket 0 holds values below one tick (and negatives); the last bucket holds
// values at or above 2^octaves ticks. Everything else is 1 + e * S + slice.

import { badHistogramOptions } from './errors.js'

export interface HistogramOptions {
  /** Smallest value told apart from zero, in the histogram's unit. Default 0.001 (1 µs when recording ms). */
  lowest?: number
  /** Values at or above this land in the overflow bucket. Default 100000 (100 s when recording ms). */
  highest?: number
  /** Slices per power of two; a power of two from 2 to 1024. Default 32 (<= 3.1 % relative width). */
  subBuckets?: number
}

export const DEFAULT_HISTOGRAM_OPTIONS: Required<HistogramOptions> = Object.freeze({
  lowest: 0.001,
  highest: 100_000,
  subBuckets: 32,
})

// i32 ticks bound both the max/min words and clz32, so the range is capped.
const MAX_OCTAVES = 31

export class BucketScheme {
  readonly lowest: number
  readonly highest: number
  readonly subBuckets: number
  readonly octaves: number
  /** Underflow + octaves * subBuckets + overflow. */
  readonly bucketCount: number
  readonly overflowIndex: number
  private readonly inverseLowest: number
  private readonly maxTicks: number
  // 2^-e for each octave, so the hot path multiplies instead of dividing.
  private readonly inversePowers: Float64Array
  private readonly subShift: number
  // Lower bound of every bucket plus the overflow start, computed once, so
  // exporters walking all buckets do table lookups instead of powers.
  private readonly lowerBounds: Float64Array

  constructor(options: HistogramOptions = {}) {
    const lowest = options.lowest ?? DEFAULT_HISTOGRAM_OPTIONS.lowest
    const highest = options.highest ?? DEFAULT_HISTOGRAM_OPTIONS.highest
    const subBuckets = options.subBuckets ?? DEFAULT_HISTOGRAM_OPTIONS.subBuckets
    if (!(lowest > 0) || !Number.isFinite(lowest)) throw badHistogramOptions(`lowest must be a positive finite number, got ${lowest}`)
    if (!(highest > lowest) || !Number.isFinite(highest)) {
      throw badHistogramOptions(`highest must be finite and greater than lowest (${lowest}), got ${highest}`)
    }
    if (!Number.isInteger(subBuckets) || subBuckets < 2 || subBuckets > 1024 || (subBuckets & (subBuckets - 1)) !== 0) {
      throw badHistogramOptions(`subBuckets must be a power of two from 2 to 1024, got ${subBuckets}`)
    }
    const octaves = Math.ceil(Math.log2(highest / lowest))
    if (octaves > MAX_OCTAVES) {
      throw badHistogramOptions(
        `highest/lowest spans ${octaves} powers of two; at most ${MAX_OCTAVES} fit. Raise lowest or lower highest.`,
      )
    }
    this.lowest = lowest
    this.highest = highest
    this.subBuckets = subBuckets
    this.octaves = octaves
    this.bucketCount = octaves * subBuckets + 2
    this.overflowIndex = this.bucketCount - 1
    this.inverseLowest = 1 / lowest
    this.maxTicks = 2 ** octaves
    this.subShift = Math.log2(subBuckets)
    this.inversePowers = new Float64Array(octaves)
    for (let e = 0; e < octaves; e++) this.inversePowers[e] = 2 ** -e
    this.lowerBounds = new Float64Array(this.bucketCount)
    for (let i = 1; i < this.bucketCount; i++) {
      const j = i - 1
      const e = j >> this.subShift
      const slice = j & (subBuckets - 1)
      this.lowerBounds[i] = i === this.overflowIndex ? this.maxTicks * lowest : 2 ** e * (1 + slice / subBuckets) * lowest
    }
  }

  /** Value -> ticks (unrounded). */
  ticks(value: number): number {
    return value * this.inverseLowest
  }

  /** The bucket for a value: allocation-free, a handful of arithmetic ops. */
  indexOf(value: number): number {
    const x = value * this.inverseLowest
    if (!(x >= 1)) return 0 // also catches NaN and negatives
    if (x >= this.maxTicks) return this.overflowIndex
    const e = 31 - Math.clz32(x)
    const slice = ((x * this.inversePowers[e]! - 1) * this.subBuckets) | 0
    return 1 + (e << this.subShift) + slice
  }

  /** Inclusive lower bound of a bucket, in the histogram's unit. */
  lowerBound(index: number): number {
    if (index <= 0) return 0
    if (index >= this.overflowIndex) return this.lowerBounds[this.overflowIndex]!
    return this.lowerBounds[index]!
  }

  /** Exclusive upper bound of a bucket (Infinity for overflow). */
  upperBound(index: number): number {
    if (index >= this.overflowIndex) return Infinity
    return this.lowerBounds[index + 1]!
  }

  /** Middle of a bucket (Infinity for overflow): where exporters cut buckets. */
  midpoint(index: number): number {
    if (index >= this.overflowIndex) return Infinity
    return (this.lowerBound(index) + this.lowerBounds[index + 1]!) / 2
  }

  /** Stable text used in catalogue hashes and compatibility checks. */
  describe(): string {
    return `${this.lowest}:${this.highest}:${this.subBuckets}`
  }
}
