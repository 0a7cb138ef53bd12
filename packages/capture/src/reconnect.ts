// The reconnect policy, as a pure state machine: no timers, no sockets. The
// capture loop asks it what to do next and tells it what happened, so every
// decision is testable with a fake clock and a fake random source.
//
// Two mechanisms work together:
// - Bounded exponential backoff with jitter between full open attempts
//   (initialMs, doubling, capped at maxMs), so a dead camera is not hammered.
// - A cheap reachability probe (a TCP connect to the camera's port) every
//   probeIntervalMs while waiting. When a probe that had seen the camera
//   unreachable sees it reachable again, the camera has come back: the
//   backoff restarts from initialMs and an attempt is made at once. That is
//   how a camera returning after a long outage (when the backoff has grown to
//   its 30 s cap) streams again within a few seconds.
// Only a transition unreachable -> reachable triggers an early attempt: a
// camera that accepts TCP but refuses the stream (wrong path, bad password,
// hung server) must still get the full backoff.
import type { ReconnectConfig } from './types.js'

export const DEFAULT_RECONNECT: Readonly<ReconnectConfig> = Object.freeze({
  initialMs: 1000,
  maxMs: 30_000,
  jitter: 0.2,
  probeIntervalMs: 1000,
  stableMs: 10_000,
})

export type ReconnectDecision =
  | { action: 'attempt'; reason: 'first' | 'backoff-elapsed' | 'camera-returned' }
  | { action: 'probe' }
  | { action: 'wait'; ms: number }

export interface PolicyDeps {
  /** Monotonic milliseconds. */
  now(): number
  /** Uniform in [0, 1). */
  random(): number
}

export class ReconnectPolicy {
  readonly config: Readonly<ReconnectConfig>
  private readonly deps: PolicyDeps
  private readonly canProbe: boolean
  private consecutiveFailures = 0
  private nextAttemptAt = 0
  private nextProbeAt = Infinity
  private lastProbeReachable: boolean | undefined
  private cameraReturned = false
  private streamingSince: number | undefined
  private started = false

  constructor(config: Partial<ReconnectConfig> = {}, deps: PolicyDeps = defaultDeps(), opts: { canProbe?: boolean } = {}) {
    this.config = Object.freeze({ ...DEFAULT_RECONNECT, ...config })
    validate(this.config)
    this.deps = deps
    this.canProbe = (opts.canProbe ?? true) && this.config.probeIntervalMs > 0
  }

  /** Failures since the stream last ran stably (drives the backoff exponent). */
  get failures(): number {
    return this.consecutiveFailures
  }

  /** The wait before the next full attempt that the latest failure scheduled. */
  lastDelayMs = 0

  /** What the capture loop should do now. */
  next(): ReconnectDecision {
    const now = this.deps.now()
    if (!this.started) {
      this.started = true
      return { action: 'attempt', reason: 'first' }
    }
    if (this.cameraReturned) {
      this.cameraReturned = false
      return { action: 'attempt', reason: 'camera-returned' }
    }
    if (now >= this.nextAttemptAt) return { action: 'attempt', reason: 'backoff-elapsed' }
    if (this.canProbe && now >= this.nextProbeAt) {
      this.nextProbeAt = Infinity // re-armed by recordProbe, so a slow probe never overlaps the next
      return { action: 'probe' }
    }
    const until = Math.min(this.nextAttemptAt, this.canProbe ? this.nextProbeAt : Infinity)
    return { action: 'wait', ms: Math.max(0, until - now) }
  }

  /**
   * An open failed, or a running stream failed or stalled. Returns the wait
   * before the next attempt. `reachable` is what the failure says about the
   * network path: false for a refused or failed connect (so the first probe
   * that gets through counts as the camera's return, even if it comes right
   * after this failure), true when the camera answered (404, 401, wrong
   * format), undefined when it cannot tell (a stall, a timeout).
   */
  recordFailure(reachable?: boolean): number {
    const now = this.deps.now()
    this.started = true
    if (this.streamingSince !== undefined && now - this.streamingSince >= this.config.stableMs) {
      this.consecutiveFailures = 0
    }
    this.streamingSince = undefined
    this.consecutiveFailures++
    const base = Math.min(this.config.maxMs, this.config.initialMs * 2 ** (this.consecutiveFailures - 1))
    const jittered = base * (1 + this.config.jitter * (2 * this.deps.random() - 1))
    const delay = Math.round(Math.min(this.config.maxMs, Math.max(0, jittered)))
    this.lastDelayMs = delay
    this.nextAttemptAt = now + delay
    this.lastProbeReachable = reachable
    this.cameraReturned = false
    this.nextProbeAt = now + this.config.probeIntervalMs
    return delay
  }

  /** Report a probe's outcome. */
  recordProbe(reachable: boolean): void {
    const now = this.deps.now()
    if (reachable && this.lastProbeReachable === false) {
      // The camera came back: a new episode, so the backoff starts over.
      this.cameraReturned = true
      this.consecutiveFailures = 0
    }
    this.lastProbeReachable = reachable
    this.nextProbeAt = now + this.config.probeIntervalMs
  }

  /** The source delivered its first frame after an open. */
  recordStreaming(): void {
    this.streamingSince = this.deps.now()
    this.nextProbeAt = Infinity
  }
}

function validate(c: ReconnectConfig): void {
  const bad = (what: string): never => {
    throw new RangeError(`invalid reconnect config: ${what}`)
  }
  if (!(c.initialMs > 0)) bad(`initialMs must be > 0, got ${c.initialMs}`)
  if (!(c.maxMs >= c.initialMs)) bad(`maxMs (${c.maxMs}) must be >= initialMs (${c.initialMs})`)
  if (!(c.jitter >= 0 && c.jitter < 1)) bad(`jitter must be in [0, 1), got ${c.jitter}`)
  if (!(c.probeIntervalMs >= 0)) bad(`probeIntervalMs must be >= 0 (0 disables probing), got ${c.probeIntervalMs}`)
  if (!(c.stableMs >= 0)) bad(`stableMs must be >= 0, got ${c.stableMs}`)
}

function defaultDeps(): PolicyDeps {
  return { now: () => performance.now(), random: Math.random }
}
