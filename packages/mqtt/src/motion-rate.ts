// mqtt.motionMinIntervalMs: the motion worker emits an event for every frame
// with motion (60 a second at 60 fps), more than a radio link or Home
// Assistant wants. One gate per camera lets at most one message through per
// interval: the first event after a quiet interval goes at once, later ones
// wait and only the newest of them is sent when the interval ends, so the
// last state (motion stopped: `boxes: []`) always reaches the broker, at most
// one interval late.

export interface MotionRateCapOptions {
  /** Shortest time between two messages; 0 lets every event through. */
  minIntervalMs: number
  /** Sends one event's message. */
  send: (body: object) => void
}

export class MotionRateCap {
  private readonly minIntervalMs: number
  private readonly send: (body: object) => void
  private lastSentAt = -Infinity
  /** The newest event held back, sent when the interval ends. */
  private pending: object | null = null
  private timer: NodeJS.Timeout | undefined
  /** Events replaced by a newer one before their turn (never sent, by design). */
  coalesced = 0

  constructor(options: MotionRateCapOptions) {
    this.minIntervalMs = options.minIntervalMs
    this.send = options.send
  }

  offer(body: object): void {
    const now = performance.now()
    if (this.pending === null && now - this.lastSentAt >= this.minIntervalMs) {
      this.emit(body, now)
      return
    }
    if (this.pending !== null) this.coalesced++
    this.pending = body
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.lastSentAt + this.minIntervalMs - now))
      this.timer.unref()
    }
  }

  /** Sends what is held back now (the interval ended, or heart stops). */
  flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    const body = this.pending
    if (body === null) return
    this.pending = null
    this.emit(body, performance.now())
  }

  private emit(body: object, now: number): void {
    this.lastSentAt = now
    this.send(body)
  }
}
