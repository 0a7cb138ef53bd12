// Small statistics helpers for capture health. They live in the capture
// worker and are summarised into the shared health block a few times a second.

/** Process-wide monotonic milliseconds: the same clock in every thread (performance.now() is per-thread). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

/** Events per second over a sliding time window. */
export class RateWindow {
  private readonly times: Float64Array
  private count = 0
  private next = 0
  private first = NaN
  constructor(private readonly windowMs = 2000, maxEvents = 1024) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`)
    this.times = new Float64Array(maxEvents)
  }
  add(nowMs: number): void {
    if (this.count === 0) this.first = nowMs
    this.times[this.next] = nowMs
    this.next = (this.next + 1) % this.times.length
    if (this.count < this.times.length) this.count++
  }
  /** Rate over the events inside the window ending at nowMs. */
  rate(nowMs: number): number {
    let inWindow = 0
    let oldest = nowMs
    for (let i = 0; i < this.count; i++) {
      const t = this.times[(this.next - 1 - i + this.times.length) % this.times.length]!
      if (nowMs - t > this.windowMs) break
      inWindow++
      oldest = t
    }
    if (nowMs - this.first >= this.windowMs) {
      // A full window: count per window, so a stream that stops decays to 0 instead of freezing.
      return (inWindow * 1000) / this.windowMs
    }
    // Still filling: N events span N-1 intervals.
    const span = nowMs - oldest
    return inWindow < 2 || span <= 0 ? 0 : ((inWindow - 1) * 1000) / span
  }
  clear(): void {
    this.count = 0
    this.next = 0
    this.first = NaN
  }
}

