// The most recent N samples of a duration or size, with nearest-rank
// percentiles that describe the stream as it is now rather than since boot.
// Capture's health block and the vision workers' timing reports both keep
// one. Allocation-free after construction (a ring of samples and a scratch
// copy to sort), so it can sit on a per-frame path.

export class SampleWindow {
  private readonly samples: Float64Array
  private readonly scratch: Float64Array
  private count = 0
  private next = 0

  constructor(capacity = 1024) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be >= 1, got ${capacity}`)
    this.samples = new Float64Array(capacity)
    this.scratch = new Float64Array(capacity)
  }

  add(value: number): void {
    this.samples[this.next] = value
    this.next = (this.next + 1) % this.samples.length
    if (this.count < this.samples.length) this.count++
  }

  get size(): number {
    return this.count
  }

  /** The nearest-rank percentile `p` (0..100) of the samples kept; null when empty. */
  percentile(p: number): number | null {
    return this.percentiles(p)[0]!
  }

  /** Several percentiles (0..100) from one sort; null for each when empty. */
  percentiles(...ps: number[]): (number | null)[] {
    if (this.count === 0) return ps.map(() => null)
    const sorted = this.scratch.subarray(0, this.count)
    sorted.set(this.samples.subarray(0, this.count))
    sorted.sort()
    return ps.map((p) => sorted[Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1))]!)
  }

  /** The largest sample kept; null when empty. */
  max(): number | null {
    if (this.count === 0) return null
    let largest = -Infinity
    for (let i = 0; i < this.count; i++) largest = Math.max(largest, this.samples[i]!)
    return largest
  }

  clear(): void {
    this.count = 0
    this.next = 0
  }
}
