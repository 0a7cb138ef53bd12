// Thermal drift: the MLX90640 warms itself (and is warmed by the board), and its readings
// creep with it. We track the die temperature Ta and the frame mean over a sliding window,
// fit a straight line to each, and flag when either moves faster than allowed.

export interface DriftOptions {
  /** Window the slopes are fitted over, seconds. */
  windowS?: number
  /** Flag when Ta changes faster than this, °C per minute. */
  maxTaCPerMin?: number
  /** Flag when the frame mean changes faster than this, °C per minute. */
  maxMeanCPerMin?: number
  /** Samples kept per second (the fit does not need every frame). */
  samplesPerS?: number
}

export interface DriftFigures {
  window_s: number
  ta_c_per_min: number
  mean_c_per_min: number
  /** Frame mean minus Ta now, °C: how far the scene sits from the die. */
  mean_offset_c: number
  /** Change of mean_offset_c across the window, °C. */
  mean_offset_change_c: number
  flagged: boolean
  reason: string | null
}

interface Sample {
  tMs: number
  ta: number
  mean: number
}

export class DriftTracker {
  private readonly windowMs: number
  private readonly minGapMs: number
  private readonly maxTa: number
  private readonly maxMean: number
  private samples: Sample[] = []

  constructor(opts: DriftOptions = {}) {
    this.windowMs = (opts.windowS ?? 60) * 1000
    this.minGapMs = 1000 / (opts.samplesPerS ?? 2)
    this.maxTa = opts.maxTaCPerMin ?? 0.5
    this.maxMean = opts.maxMeanCPerMin ?? 1
  }

  add(tMs: number, ta: number, mean: number): void {
    const last = this.samples[this.samples.length - 1]
    if (last && tMs - last.tMs < this.minGapMs) return
    this.samples.push({ tMs, ta, mean })
    while (this.samples.length > 2 && tMs - this.samples[0]!.tMs > this.windowMs) this.samples.shift()
  }

  reset(): void {
    this.samples = []
  }

  figures(): DriftFigures {
    const s = this.samples
    const span = s.length > 1 ? s[s.length - 1]!.tMs - s[0]!.tMs : 0
    // Slopes from less than a fifth of the window are noise, not drift.
    const enough = span >= this.windowMs / 5
    const taSlope = enough ? slopePerMin(s, (x) => x.ta) : 0
    const meanSlope = enough ? slopePerMin(s, (x) => x.mean) : 0
    const last = s[s.length - 1]
    const first = s[0]
    const offset = last ? last.mean - last.ta : 0
    const offsetChange = last && first ? offset - (first.mean - first.ta) : 0
    let reason: string | null = null
    if (Math.abs(taSlope) > this.maxTa) reason = `Ta changing ${taSlope.toFixed(2)} °C/min (limit ${this.maxTa})`
    else if (Math.abs(meanSlope) > this.maxMean) reason = `frame mean changing ${meanSlope.toFixed(2)} °C/min (limit ${this.maxMean})`
    return {
      window_s: span / 1000,
      ta_c_per_min: round3(taSlope),
      mean_c_per_min: round3(meanSlope),
      mean_offset_c: round3(offset),
      mean_offset_change_c: round3(offsetChange),
      flagged: reason !== null,
      reason,
    }
  }
}

/** Least-squares slope, per minute. */
function slopePerMin(samples: Sample[], y: (s: Sample) => number): number {
  const n = samples.length
  const t0 = samples[0]!.tMs
  let sx = 0
  let sy = 0
  let sxx = 0
  let sxy = 0
  for (const s of samples) {
    const x = (s.tMs - t0) / 60_000
    const v = y(s)
    sx += x
    sy += v
    sxx += x * x
    sxy += x * v
  }
  const den = n * sxx - sx * sx
  return den === 0 ? 0 : (n * sxy - sx * sy) / den
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000
