// Per-second figures out of cumulative shared histograms, and the pooled
// distribution of the seconds that count towards the targets.
import { HistogramSnapshot, type Histogram } from '@heart/telemetry'

export interface Spread {
  p50: number | null
  p99: number | null
  max: number | null
  count: number
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000

/** p50 / p99 / max of a snapshot (nulls when nothing was recorded). */
export function spread(s: HistogramSnapshot): Spread {
  if (s.count === 0) return { p50: null, p99: null, max: null, count: 0 }
  return { p50: round3(s.percentile(50)), p99: round3(s.percentile(99)), max: round3(s.max), count: s.count }
}

/** Adds the values of `delta` into `into` (same bucket scheme): pools chosen seconds into one distribution. */
export function accumulate(into: HistogramSnapshot, delta: HistogramSnapshot): void {
  if (delta.count === 0) return
  for (let i = 0; i < into.counts.length; i++) into.counts[i] = into.counts[i]! + delta.counts[i]!
  into.count += delta.count
  into.sumTicks += delta.sumTicks
  if (delta.maxTicks > into.maxTicks) into.maxTicks = delta.maxTicks
  if (into.count === delta.count || delta.minTicks < into.minTicks) into.minTicks = delta.minTicks
  into.boundsExact = false
}

/**
 * One histogram seen second by second: next() gives what was recorded since
 * the previous call, and pool() adds that second to the steady-state total
 * when it counts towards the targets.
 */
export class SecondBySecond {
  private last: HistogramSnapshot
  private current: HistogramSnapshot
  private readonly delta: HistogramSnapshot
  readonly steady: HistogramSnapshot
  readonly all: HistogramSnapshot

  constructor(private readonly histogram: Histogram) {
    this.last = histogram.snapshot()
    this.current = new HistogramSnapshot(histogram.scheme)
    this.delta = new HistogramSnapshot(histogram.scheme)
    this.steady = new HistogramSnapshot(histogram.scheme)
    this.all = new HistogramSnapshot(histogram.scheme)
  }

  /** The values of the second that just ended (the object is reused by the next call). */
  next(): HistogramSnapshot {
    this.histogram.snapshot(this.current)
    this.current.minus(this.last, this.delta)
    const swap = this.last
    this.last = this.current
    this.current = swap
    accumulate(this.all, this.delta)
    return this.delta
  }

  /** Counts the second last returned by next() towards the steady-state figures. */
  pool(): void {
    accumulate(this.steady, this.delta)
  }
}

/**
 * Memory drift over the steady seconds only: a least-squares line with one
 * slope shared by every stretch of consecutive steady seconds and its own
 * level per stretch. Steps at fault windows (a restarted worker's heap)
 * fall between stretches and do not count; GC saw-teeth average out instead
 * of deciding the result the way two end-point samples would. Returns the
 * growth over the steady time as a ratio of the first stretch's mean, or
 * null with fewer than 20 steady seconds.
 */
export function steadyDrift(points: ReadonlyArray<{ t: number; value: number; steady: boolean }>): { ratio: number; perMinute: number; base: number } | null {
  const stretches: Array<Array<{ t: number; value: number }>> = []
  let current: Array<{ t: number; value: number }> | null = null
  for (const p of points) {
    if (!p.steady) {
      current = null
      continue
    }
    if (!current) stretches.push((current = []))
    current.push(p)
  }
  const used = stretches.filter((s) => s.length >= 5)
  const n = used.reduce((a, s) => a + s.length, 0)
  if (n < 20) return null
  let sxy = 0
  let sxx = 0
  for (const s of used) {
    const tMean = s.reduce((a, p) => a + p.t, 0) / s.length
    const vMean = s.reduce((a, p) => a + p.value, 0) / s.length
    for (const p of s) {
      sxy += (p.t - tMean) * (p.value - vMean)
      sxx += (p.t - tMean) ** 2
    }
  }
  const slope = sxx > 0 ? sxy / sxx : 0
  const base = used[0]!.reduce((a, p) => a + p.value, 0) / used[0]!.length
  return { ratio: (slope * n) / base, perMinute: slope * 60, base }
}
