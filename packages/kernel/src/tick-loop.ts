import { Histogram, HistogramWindow, type HistogramSnapshot } from '@heart/telemetry'
import type { Logger } from './types.js'
import { silentLogger } from './logger.js'

export interface TickLoopOptions {
  /** Target period between tick starts. */
  periodMs?: number
  /** A gap between tick starts above this is logged as a warning. */
  warnGapMs?: number
  /** Where to record tick-to-tick intervals (ms); a shared one lets /metrics read it. */
  intervalHistogram?: Histogram
  /** Where to record the time spent inside a tick (ms). */
  durationHistogram?: Histogram
  /** Seconds covered by the recent-percentile window (what /health judges). Default HEALTH_WINDOW_S. */
  windowSeconds?: number
  logger?: Logger
  /** Monotonic clock in ms (injectable so tests can drive tick() through a window). Default performance.now. */
  now?: () => number
}

/**
 * The recent window /health judges the tick p99 on: long enough that a
 * steady 1 % of slow ticks shows, short enough that one start-up burst
 * (workers starting and warming up) leaves it a minute later.
 */
export const HEALTH_WINDOW_S = 60

export type TickTask = (nowMs: number) => void

interface Timer {
  everyMs: number
  nextMs: number
  fn: TickTask
}

export interface TickStats {
  ticks: number
  tick_ms_p50: number
  tick_ms_p99: number
  tick_ms_max: number
  /** Ticks whose gap exceeded warnGapMs. */
  late_ticks: number
  /** Time spent working inside a tick (draining events, polling, timers). */
  work_ms_p50: number
  work_ms_p99: number
  /** How late ticks start against the period (interval - period), p99. */
  lateness_ms_p99: number
}

/**
 * The main thread's heartbeat: every periodMs it runs its tasks (drain
 * events, poll rings, timers). It never blocks and never touches pixels, so
 * the rest of the device keeps its timing. Deadlines are absolute, so one
 * late tick does not shift every later one.
 */
export class TickLoop {
  readonly periodMs: number
  readonly warnGapMs: number
  readonly windowSeconds: number
  readonly intervals: Histogram
  readonly durations: Histogram
  private readonly window: HistogramWindow
  private readonly workWindow: HistogramWindow
  private readonly tasks: TickTask[] = []
  private readonly timers: Timer[] = []
  private readonly logger: Logger
  private readonly now: () => number
  private handle: NodeJS.Timeout | undefined
  private nextDeadline = 0
  private lastStart = -1
  private lastWindowRotate = 0
  private lastWarnMs = -Infinity
  private suppressedWarnings = 0
  ticks = 0
  lateTicks = 0
  maxGapMs = 0

  constructor(options: TickLoopOptions = {}) {
    this.periodMs = options.periodMs ?? 5
    this.warnGapMs = options.warnGapMs ?? 8
    if (!(this.periodMs > 0)) throw new RangeError(`tick period must be > 0 ms, got ${this.periodMs}`)
    this.intervals = options.intervalHistogram ?? new Histogram()
    this.durations = options.durationHistogram ?? new Histogram()
    this.windowSeconds = options.windowSeconds ?? HEALTH_WINDOW_S
    // One-second slices; the window reports the last windowSeconds.
    this.window = new HistogramWindow(this.intervals, this.windowSeconds)
    this.workWindow = new HistogramWindow(this.durations, this.windowSeconds)
    this.logger = options.logger ?? silentLogger
    this.now = options.now ?? (() => performance.now())
  }

  get running(): boolean {
    return this.handle !== undefined
  }

  /** Adds work done on every tick. Keep it short and non-blocking. */
  onTick(task: TickTask): void {
    this.tasks.push(task)
  }

  /** Runs fn about every everyMs, inside a tick, until the returned function is called. */
  every(everyMs: number, fn: TickTask): () => void {
    const timer: Timer = { everyMs, nextMs: this.now() + everyMs, fn }
    this.timers.push(timer)
    return () => {
      const at = this.timers.indexOf(timer)
      if (at >= 0) this.timers.splice(at, 1)
    }
  }

  start(): void {
    if (this.handle) return
    this.nextDeadline = this.now()
    this.lastWindowRotate = this.nextDeadline
    this.schedule()
  }

  stop(): void {
    if (this.handle) clearTimeout(this.handle)
    this.handle = undefined
    this.lastStart = -1
  }

  /** Tick figures over the recent window (the last windowSeconds). */
  stats(): TickStats {
    return this.figures(this.window.snapshot(), this.workWindow.snapshot())
  }

  /** Tick figures since start. */
  totals(): TickStats {
    return this.figures(this.intervals.snapshot(), this.durations.snapshot())
  }

  private figures(intervals: HistogramSnapshot, work: HistogramSnapshot): TickStats {
    const ok = intervals.count > 0
    const p99 = ok ? intervals.percentile(99) : 0
    return {
      ticks: this.ticks,
      tick_ms_p50: ok ? round3(intervals.percentile(50)) : 0,
      tick_ms_p99: round3(p99),
      tick_ms_max: ok ? round3(intervals.max) : 0,
      late_ticks: this.lateTicks,
      work_ms_p50: work.count > 0 ? round3(work.percentile(50)) : 0,
      work_ms_p99: work.count > 0 ? round3(work.percentile(99)) : 0,
      lateness_ms_p99: ok ? round3(Math.max(0, p99 - this.periodMs)) : 0,
    }
  }

  /** Runs one tick now (the scheduler calls this; tests may too). */
  tick(): void {
    const start = this.now()
    // A first tick run by hand (no start()) anchors the window's slices.
    if (this.ticks === 0 && !this.handle) this.lastWindowRotate = start
    if (this.lastStart >= 0) {
      const gap = start - this.lastStart
      this.intervals.record(gap)
      if (gap > this.maxGapMs) this.maxGapMs = gap
      if (gap > this.warnGapMs) {
        this.lateTicks++
        this.warnLate(start, gap)
      }
    }
    this.lastStart = start
    this.ticks++
    for (const task of this.tasks) task(start)
    for (const timer of this.timers) {
      if (start >= timer.nextMs) {
        // Skip missed periods instead of bursting to catch up.
        timer.nextMs = Math.max(timer.nextMs + timer.everyMs, start + timer.everyMs * 0.5)
        timer.fn(start)
      }
    }
    if (start - this.lastWindowRotate >= 1000) {
      this.window.rotate()
      this.workWindow.rotate()
      this.lastWindowRotate = start
    }
    this.durations.record(this.now() - start)
  }

  private schedule(): void {
    this.nextDeadline += this.periodMs
    const now = this.now()
    if (this.nextDeadline < now - this.periodMs) {
      // We fell far behind (the process was stopped or starved): re-anchor.
      this.nextDeadline = now
    }
    this.handle = setTimeout(() => {
      this.tick()
      if (this.handle) this.schedule()
    }, Math.max(0, this.nextDeadline - now))
  }

  private warnLate(nowMs: number, gapMs: number): void {
    // At most one warning a second, with a count of the ones folded in.
    if (nowMs - this.lastWarnMs < 1000) {
      this.suppressedWarnings++
      return
    }
    this.logger.warn('main loop tick gap above target', {
      gap_ms: round3(gapMs),
      target_ms: this.warnGapMs,
      similar_since_last_warning: this.suppressedWarnings,
    })
    this.lastWarnMs = nowMs
    this.suppressedWarnings = 0
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000
}
