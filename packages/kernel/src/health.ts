import type { ConsumerStats, FrameRing } from '@heart/ring'
import { SKIP_REASON_NAMES } from '@heart/contracts'
import { MAIN_THREAD } from './thread-cpu.js'
import type { TickStats } from './tick-loop.js'
import type { WorkerMemory } from './types.js'

export type HealthStatus = 'green' | 'yellow' | 'red'

/** The camera section of /health (a contract: docs/architecture.md); the capture package fills it. */
export interface CameraHealth {
  state: string
  frames_per_s: number
  decode_ms_p50: number | null
  decode_ms_p99: number | null
  decode_ms_first_frame: number | null
  last_frame_age_ms: number | null
  reopens_total: number
  decode_errors_total: number
  backend: string | null
  ai_locked: boolean
  /** The source URL with credentials removed. */
  source?: string
  /** Failures since start (reopens, open errors). */
  failures_total?: number
  /** The camera's own verdict, when its package judges it (capture does). */
  status?: HealthStatus
  last_error?: string | null
}

/** One camera in /health's `cameras`: its figures and its consumers' books. */
export type CameraReport = CameraHealth & { consumers: Record<string, ConsumerHealth> }

export interface ConsumerHealth {
  delivered: number
  /** Lost frames: the consumer wanted them and did not get them. */
  dropped: Record<string, number>
  /** Intended skips (its fpsCap, AI-lock): frames it chose not to take; never lost. */
  skipped: Record<string, number>
  lag: number
  state: string
  published: number
  /** The consumer's worker: `state` is the supervisor's (running, stalled, restarting, ...); last_exit a WORKER_EXIT_REASONS code. */
  worker?: { state: string; restarts: number; last_crash: string | null; last_exit: string | null; crash_looping: boolean }
  /** The consumer's own outside service (the detection client's server), when it has one. */
  service?: ConsumerServiceHealth
}

/** What a consumer's outside service looks like from the consumer (`consumers.NAME.service` in /health). */
export interface ConsumerServiceHealth {
  /**
   * `unknown` before the first answer or failure; `up` after an answer;
   * `unreachable` while requests get no answer (refused, timed out);
   * `failing` while it answers with errors.
   */
  state: 'unknown' | 'up' | 'unreachable' | 'failing'
  last_error: string | null
  errors_total: number
}

export interface ThermalHealth {
  frames_per_s: number
  lost_total: number
  loss_ratio: number
}

export interface HealthReport {
  status: HealthStatus
  /** Why the status is not green, in words. */
  reasons: string[]
  /** The first camera (the only one in a one-camera run: the wave-1 key). */
  camera: CameraHealth
  /** The first camera's consumers (wave-1 key). */
  consumers: Record<string, ConsumerHealth>
  /** Every camera by name, each with its own consumers (absent in hand-built reports and rings without a camera). */
  cameras?: Record<string, CameraReport>
  thermal: ThermalHealth | null
  /** The main loop over the recent window (the tick loop's windowSeconds, 60 s by default): what the status judges. */
  loop: LoopHealth
  /** The same figures since start, start-up included: for reports, never judged (one start-up burst would colour the whole run). */
  loop_whole_run: LoopHealth
  workers: Record<string, WorkerHealth>
  /** The main thread (the loop, events, HTTP), as workers.NAME.cpu_percent is for a worker; absent in hand-built reports. */
  main_thread?: { cpu_percent: number | null }
  events: { queued: number; dropped: number }
  /** The whole process: resident memory of every thread, and the main thread's own heap. */
  memory: { rss_mb: number; main_heap_used_mb: number; main_heap_total_mb: number; array_buffers_mb: number }
  uptime_s: number
}

export interface LoopHealth {
  tick_ms_p50: number
  tick_ms_p99: number
  tick_ms_max: number
  late_ticks: number
  work_ms_p99: number
  lateness_ms_p99: number
}

export interface WorkerHealth {
  /** starting, running, stalled (the watchdog is terminating it), restarting, stopping, stopped, failed. */
  state: string
  starts: number
  crashes: number
  restarts: number
  last_crash: string | null
  /** Why its last life ended, a WORKER_EXIT_REASONS code (stalled, out_of_memory, error, exit); null before any crash. */
  last_exit: string | null
  /** It crashed CRASH_LOOP_AFTER times in a row, each soon after starting. */
  crash_looping: boolean
  /** Consumers: how long frames have waited with none finished (0 while keeping up); at stall_ms the watchdog restarts it. */
  stalled_for_ms?: number
  stall_ms?: number
  /** The worker's own JavaScript heap as it last reported it (every few seconds); null until it has. */
  heap_used_mb: number | null
  heap_total_mb: number | null
  /** Per cent of one core its thread used over the last few seconds (ThreadCpuMeter); null until measured or off Linux. */
  cpu_percent?: number | null
}

export interface HealthSources {
  camera?: () => CameraHealth | null
  ring?: () => FrameRing | null
  thermal?: () => ThermalHealth | null
  /** Tick figures over the recent window (judged). */
  loop: () => TickStats
  /** Tick figures since start (shown, not judged); default: the window's. */
  loopWholeRun?: () => TickStats
  /** How many seconds the recent window covers, for the reason text. */
  loopWindowS?: number
  workers: () => Array<{
    name: string
    state: string
    starts: number
    crashes: number
    lastCrash: { reason: string; code?: string } | null
    memory?: WorkerMemory | null
    crashesInARow?: number
    crashLooping?: boolean
    stalledForMs?: number
    stallMs?: number
  }>
  events: () => { queued: number; dropped: number }
  /** A thread's recent CPU share by heart name (a worker's, or `main`), null when not measured. */
  cpuPercent?: (thread: string) => number | null
  /** false: the caller judges the cameras itself (the kernel does, with several cameras). Default true. */
  judgeCamera?: boolean
}

export interface HealthThresholds {
  /** Red when the newest frame is older than this. */
  redAfterMs: number
  /** Yellow when the recent tick p99 is above this. */
  tickP99WarnMs: number
  /** Yellow when thermal loss is above this ratio. */
  thermalLossWarn: number
}

/** A camera whose capture has said nothing yet. */
export const EMPTY_CAMERA: Readonly<CameraHealth> = Object.freeze({
  state: 'none',
  frames_per_s: 0,
  decode_ms_p50: null,
  decode_ms_p99: null,
  decode_ms_first_frame: null,
  last_frame_age_ms: null,
  reopens_total: 0,
  decode_errors_total: 0,
  backend: null,
  ai_locked: false,
})

function num(x: bigint): number {
  return Number(x)
}

function isSkipReason(reason: string): boolean {
  return (SKIP_REASON_NAMES as readonly string[]).includes(reason)
}

/** Per-consumer figures as /health shows them (bigints become numbers). */
export function consumerHealth(stats: ConsumerStats): ConsumerHealth {
  const dropped: Record<string, number> = {}
  const skipped: Record<string, number> = {}
  // The ring counts every missed frame under one map; the books split intended
  // skips off so that `dropped` means lost frames only.
  for (const [reason, n] of Object.entries(stats.dropped)) {
    const book = isSkipReason(reason) ? skipped : dropped
    book[reason] = num(n)
  }
  return { delivered: num(stats.delivered), dropped, skipped, lag: stats.lag, state: stats.state, published: num(stats.published) }
}

/**
 * Builds the /health object from every part's own figures. The same object
 * feeds the HTTP endpoint, the status line and the run summary, so numbers
 * agree everywhere.
 */
export class HealthAggregator {
  private readonly sources: HealthSources
  private readonly thresholds: HealthThresholds
  private readonly startedMs = performance.now()

  constructor(sources: HealthSources, thresholds: Partial<HealthThresholds> = {}) {
    this.sources = sources
    // An option given as undefined keeps its default.
    const given = Object.fromEntries(Object.entries(thresholds).filter(([, v]) => v !== undefined))
    this.thresholds = { redAfterMs: 3000, tickP99WarnMs: 8, thermalLossWarn: 0.05, ...given }
  }

  report(): HealthReport {
    const camera = this.sources.camera?.() ?? { ...EMPTY_CAMERA }
    const ring = this.sources.ring?.() ?? null
    const consumers: Record<string, ConsumerHealth> = {}
    if (ring) for (const s of ring.consumerStats()) consumers[s.name] = consumerHealth(s)
    const workers: HealthReport['workers'] = {}
    for (const w of this.sources.workers()) {
      workers[w.name] = {
        state: w.state,
        starts: w.starts,
        crashes: w.crashes,
        restarts: Math.max(0, w.starts - 1),
        last_crash: w.lastCrash?.reason ?? null,
        last_exit: w.lastCrash?.code ?? null,
        crash_looping: w.crashLooping ?? false,
        ...(w.stallMs === undefined ? {} : { stalled_for_ms: w.stalledForMs ?? 0, stall_ms: w.stallMs }),
        heap_used_mb: w.memory ? mb(w.memory.heapUsedBytes) : null,
        heap_total_mb: w.memory ? mb(w.memory.heapTotalBytes) : null,
        cpu_percent: this.sources.cpuPercent?.(w.name) ?? null,
      }
      const c = consumers[w.name]
      if (c) c.worker = { state: w.state, restarts: Math.max(0, w.starts - 1), last_crash: w.lastCrash?.reason ?? null, last_exit: w.lastCrash?.code ?? null, crash_looping: w.crashLooping ?? false }
    }
    const thermal = this.sources.thermal?.() ?? null
    const tick = this.sources.loop()
    const reasons: string[] = []
    let status: HealthStatus = 'green'
    const yellow = (why: string): void => {
      if (status === 'green') status = 'yellow'
      reasons.push(why)
    }
    if (this.sources.judgeCamera !== false) {
      const verdict = judgeCamera(camera, this.thresholds.redAfterMs)
      if (verdict?.level === 'red') {
        status = 'red'
        reasons.push(verdict.reason)
      } else if (verdict) yellow(verdict.reason)
    }
    for (const [name, w] of Object.entries(workers)) {
      // Consumers have a watchdog; between two lives they have no ring place to be recognised by.
      const what = w.stall_ms !== undefined ? 'consumer' : 'worker'
      if (w.state === 'failed') yellow(`${what} ${name} failed and is not restarted: ${w.last_crash}`)
      else if (w.crash_looping) yellow(`${what} ${name} is crash-looping (${w.crashes} crashes, last ${w.last_exit}: ${w.last_crash})`)
      else if (w.state === 'stalled') yellow(`${what} ${name} stalled (frames queued, none finished for ${w.stall_ms} ms); terminating it to restart`)
      // Half way to the watchdog's limit is already worth saying: frames wait and none is finished.
      else if (w.stall_ms !== undefined && (w.stalled_for_ms ?? 0) >= w.stall_ms / 2) {
        yellow(`${what} ${name} has finished no frame for ${w.stalled_for_ms} ms with frames queued (restarted at ${w.stall_ms} ms)`)
      }
      else if (w.state === 'restarting') yellow(`${what} ${name} restarting after ${w.last_exit}: ${w.last_crash}`)
      else if (w.crashes > 0) yellow(`worker ${name} crashed ${w.crashes} time(s): ${w.last_crash}`)
    }
    const over = this.sources.loopWindowS === undefined ? '' : ` over the last ${this.sources.loopWindowS} s`
    if (tick.tick_ms_p99 > this.thresholds.tickP99WarnMs) yellow(`main loop tick p99 ${tick.tick_ms_p99} ms${over} above ${this.thresholds.tickP99WarnMs} ms`)
    if (thermal && thermal.loss_ratio > this.thresholds.thermalLossWarn) yellow(`thermal loss ${(thermal.loss_ratio * 100).toFixed(1)} %`)
    return {
      status,
      reasons,
      camera,
      consumers,
      thermal,
      loop: loopHealth(tick),
      loop_whole_run: loopHealth(this.sources.loopWholeRun?.() ?? tick),
      workers,
      main_thread: { cpu_percent: this.sources.cpuPercent?.(MAIN_THREAD) ?? null },
      events: this.sources.events(),
      memory: processMemory(),
      uptime_s: Math.round((performance.now() - this.startedMs) / 100) / 10,
    }
  }
}

/** What one camera's figures say about it: nothing (fine), yellow or red, with the reason in words. */
export function judgeCamera(camera: CameraHealth, redAfterMs: number): { level: 'yellow' | 'red'; reason: string } | null {
  if (camera.state === 'disabled') return null
  if (camera.status) {
    // The capture package judges its own camera (yellow for a while after a
    // failure, red when the newest frame is too old); the kernel adds why.
    if (camera.status === 'red') {
      const age = camera.last_frame_age_ms
      return { level: 'red', reason: age === null ? `no frame received yet${camera.last_error ? ` (${camera.last_error})` : ''}` : `last frame ${Math.round(age)} ms ago` }
    }
    if (camera.status === 'yellow') return { level: 'yellow', reason: `camera recovering${camera.last_error ? ` after ${camera.last_error}` : ''}` }
    return null
  }
  if (camera.state === 'none') return null
  const age = camera.last_frame_age_ms
  if (age === null || age > redAfterMs) return { level: 'red', reason: age === null ? 'no frame received yet' : `last frame ${Math.round(age)} ms ago (red after ${redAfterMs} ms)` }
  const failures = camera.failures_total ?? camera.reopens_total
  if (failures > 0) return { level: 'yellow', reason: `camera failed ${failures} time(s)` }
  return null
}

function loopHealth(tick: TickStats): LoopHealth {
  return {
    tick_ms_p50: tick.tick_ms_p50,
    tick_ms_p99: tick.tick_ms_p99,
    tick_ms_max: tick.tick_ms_max,
    late_ticks: tick.late_ticks,
    work_ms_p99: tick.work_ms_p99,
    lateness_ms_p99: tick.lateness_ms_p99,
  }
}

/** Turns a report yellow (unless it is red already) and says why: for figures the kernel adds after the aggregator. */
export function markNotGreen(report: Pick<HealthReport, 'status' | 'reasons'>, why: string): void {
  if (report.status === 'green') report.status = 'yellow'
  report.reasons.push(why)
}

/** Bytes as every `*_mb` figure in heart shows them: MiB, one decimal. */
export function mb(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10
}

// process.memoryUsage() opens /proc/self/statm each call: with every file
// descriptor in use (a flood of sockets) it throws EMFILE. Health runs on
// the tick path, so a transient OS error keeps the last figures instead.
let lastMemory: HealthReport['memory'] = { rss_mb: 0, main_heap_used_mb: 0, main_heap_total_mb: 0, array_buffers_mb: 0 }
let lastRss = 0

function processMemory(): HealthReport['memory'] {
  try {
    const m = process.memoryUsage()
    lastRss = m.rss
    lastMemory = { rss_mb: mb(m.rss), main_heap_used_mb: mb(m.heapUsed), main_heap_total_mb: mb(m.heapTotal), array_buffers_mb: mb(m.arrayBuffers) }
  } catch {
    // keep the last figures (see above)
  }
  return lastMemory
}

/** The resident set size in bytes, or the last one read when the OS refuses to tell (EMFILE): safe on the tick path. */
export function residentBytes(): number {
  try {
    lastRss = process.memoryUsage.rss()
  } catch {
    // keep the last figure (see processMemory)
  }
  return lastRss
}
