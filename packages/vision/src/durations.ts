// A fixed window of recent durations with percentiles, for the workers'
// periodic "where does the time go" log lines. Allocation-free after
// construction: a ring of samples and a scratch copy for sorting.

export class Durations {
  private readonly samples: Float64Array
  private readonly scratch: Float64Array
  private count = 0
  private next = 0

  constructor(capacity = 1024) {
    this.samples = new Float64Array(capacity)
    this.scratch = new Float64Array(capacity)
  }

  record(ms: number): void {
    this.samples[this.next] = ms
    this.next = (this.next + 1) % this.samples.length
    if (this.count < this.samples.length) this.count++
  }

  get size(): number {
    return this.count
  }

  /** p in 0..1 over the samples kept (nearest rank); NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return NaN
    const s = this.scratch.subarray(0, this.count)
    s.set(this.samples.subarray(0, this.count))
    s.sort()
    return s[Math.min(this.count - 1, Math.max(0, Math.ceil(p * this.count) - 1))]!
  }

  max(): number {
    let m = this.count === 0 ? NaN : -Infinity
    for (let i = 0; i < this.count; i++) m = Math.max(m, this.samples[i]!)
    return m
  }

  clear(): void {
    this.count = 0
    this.next = 0
  }
}
