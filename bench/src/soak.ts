// `heart bench soak`: runs the whole runtime (camera, every consumer kind,
// the thermal poller on the emulator) for a while, records what matters
// every second, plays scripted faults, and judges the normal-running seconds
// against the targets. Writes the JSON and a self-contained HTML report.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir, uptime } from 'node:os'
import { dirname, join } from 'node:path'
import { mb, type HealthReport, type Logger } from '@heart/kernel'
import { HistogramSnapshot, type Counter } from '@heart/telemetry'
import { THERMAL_LOSS_REASONS, type ThermalConfig } from '@heart/thermal'
import { HeartMetric, UsageError, consumerKinds, runHeart, type RunningHeart, type RunSummary } from '@heart/cli'
import { watchLive } from './live-viewer.js'
import { machine, median, round } from './report.js'
import { renderReport, type Band, type Chart } from './soak-html.js'
import {
  defaultFaultPlan,
  endFault,
  FAULT_KINDS,
  healthyAfter,
  startFault,
  thermalRestarter,
  type FaultContext,
  type FaultKind,
  type FaultRecord,
  type RecoveryView,
} from './soak-faults.js'
import { SOAK_CONTROL_BYTES } from './soak-layout.js'
import { SecondBySecond, spread, steadyDrift, type Spread } from './soak-stats.js'
import { isLoss, judge, targetTable, worstDropRatio, type SteadyFigures, type TargetCheck } from './soak-targets.js'

export interface SoakOptions {
  durationS: number
  /** Camera URL (default: the built-in test camera at 1080p60). */
  source?: string
  json?: string
  /** HTML report (default: the JSON path with .html). */
  html?: string
  /** Seconds left out of the targets at the start (default: 10 % of the run, 5..60 s). */
  warmupS?: number
  /** Faults to play (default: all four). */
  faults?: readonly FaultKind[]
  log?: (line: string) => void
}

/** One second of the run. */
export interface SoakSecond {
  t: number
  /** Counts towards the targets (after warm-up, outside fault windows). */
  steady: boolean
  fps: number
  consumers: Record<string, { offered: number; delivered: number; lost: number; dropped: Record<string, number>; lag: number }>
  producer_lost: number
  latency_ms: { receive_to_decode: Spread; receive_to_publish: Spread; publish_to_consume: Spread }
  decode_ms: Spread
  tick_ms: Spread
  ring: { occupancy_mean: number; occupancy_max: number }
  thermal: { hz: number | null; lost: number }
  rss_mb: number
  /** Each worker's own JavaScript heap in use, MB, as it last reported it (every 5 s); the main thread as "main". */
  heap_used_mb: Record<string, number>
  /** The same threads' heaps as V8 has them reserved, MB: what each adds to the RSS. */
  heap_total_mb: Record<string, number>
  cpu_percent: number
  /** Each thread's CPU, % of one core over the last 5 s, as /health shows it (workers.NAME.cpu_percent; the main thread as "main"). */
  thread_cpu_percent: Record<string, number>
  camera_state: string
  load1: number
  /** Main-thread time the harness's previous per-second sample took, ms. */
  sampler_ms: number
}

export interface SoakResult {
  pass: boolean
  checks: TargetCheck[]
  json: Record<string, unknown>
  html: string
}

const STALL_CONSUMER = 'stall_probe'
const CRASH_CONSUMER = 'movement_detector'
/** Seconds after a fault's recovery still left out of the targets (queues drain, windows roll over). */
const GUARD_S = 5
/** Occupancy is sampled this often within a second. */
const OCCUPANCY_EVERY_MS = 100


function nominalFps(source: string): number {
  const m = /[?&]fps=(\d+(?:\.\d+)?)/.exec(source)
  return m ? Number(m[1]) : 60
}

/** A logger that keeps warnings and errors for the report (the soak prints its own lines). */
function collectingLogger(): Logger & { lines: Array<{ t: string; level: string; msg: string; fields?: Record<string, unknown> }>; warnings: number; errors: number } {
  const lines: Array<{ t: string; level: string; msg: string; fields?: Record<string, unknown> }> = []
  const keep = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    if (level === 'warn') logger.warnings++
    if (level === 'error') logger.errors++
    if (lines.length < 200) lines.push({ t: new Date().toISOString(), level, msg, ...(fields ? { fields } : {}) })
  }
  const logger = { lines, warnings: 0, errors: 0, debug: () => undefined, info: () => undefined, warn: keep('warn'), error: keep('error') }
  return logger
}

/**
 * The soak's config: `heart run`'s default consumers (they come with the
 * options the CLI gives them), two spare consumer places for the soak's own
 * verifier and stall probe, and the emulated thermal sensor.
 */
function soakConfig(source: string): Record<string, unknown> {
  return { source, http: { host: '127.0.0.1', port: 0 }, ring: { spareConsumers: 3 }, thermal: {} }
}

/** Monotone totals: a consumer between death and rejoin can read lower for a moment; never count that as negative. */
class Totals {
  private readonly last = new Map<string, number>()
  delta(key: string, now: number): number {
    const before = this.last.get(key) ?? 0
    if (now <= before) return 0
    this.last.set(key, now)
    return now - before
  }
}

/** CPU per thread as /health has it (the main thread and each worker that has been measured), % of one core. */
function threadCpuOf(report: HealthReport): Record<string, number> {
  const out: Record<string, number> = {}
  const main = report.main_thread?.cpu_percent
  if (typeof main === 'number') out['main'] = main
  for (const [name, w] of Object.entries(report.workers)) if (typeof w.cpu_percent === 'number') out[name] = w.cpu_percent
  return out
}

/** Heap in use or reserved per worker (those that have reported) and the main thread, MB. */
function heapsOf(report: HealthReport, which: 'used' | 'total'): Record<string, number> {
  const out: Record<string, number> = { main: which === 'used' ? report.memory.main_heap_used_mb : report.memory.main_heap_total_mb }
  for (const [name, w] of Object.entries(report.workers)) {
    const value = which === 'used' ? w.heap_used_mb : w.heap_total_mb
    if (value !== null) out[name] = value
  }
  return out
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const durationS = options.durationS
  const source = options.source ?? 'testsrc://?size=1920x1080&fps=60'
  const warmupS = options.warmupS ?? Math.min(60, Math.max(5, Math.round(durationS * 0.1)))
  const kinds = options.faults ?? FAULT_KINDS
  const plan = defaultFaultPlan(durationS, warmupS, kinds)
  const fps0 = nominalFps(source)
  const loadStart = loadavg()

  const dir = mkdtempSync(join(tmpdir(), 'heart-soak-'))
  const configFile = join(dir, 'soak.json')
  writeFileSync(configFile, JSON.stringify(soakConfig(source)))
  const logger = collectingLogger()
  let heart: RunningHeart
  try {
    heart = await runHeart({ configFile, status: false, logger })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const { kernel, capture, metrics } = heart
  // The default workload has one live viewer (live-viewer.ts).
  const viewer = watchLive(heart.http)
  log(`soak: ${source}, ${durationS} s (warm-up ${warmupS} s), faults: ${plan.map((p) => `${p.kind}@${p.atS}s`).join(', ') || 'none'}`)

  // A verifier reading every pixel of every frame beside the standard consumers (depth within the ring's maxDepth).
  const verifier = { name: 'frame_verifier', kind: 'verify', enabled: true, depth: heart.config.ring.depth, fpsCap: undefined, skipAiLocked: undefined, module: undefined, options: undefined }
  await consumerKinds.verify!.start(verifier, { kernel, ring: heart.cameras[0]!.name, synthetic: source.startsWith('synthetic:'), thermalRing: null, configDir: process.cwd() })
  const control = new SharedArrayBuffer(SOAK_CONTROL_BYTES)
  const stallFlag = new Int32Array(control)
  kernel.startConsumer({ name: STALL_CONSUMER, entry: new URL('./soak-stall-worker.js', import.meta.url), ring: heart.cameras[0]!.name, consumer: { depth: 2 }, app: { flagKey: 'soak' }, shared: { soak: control } })

  const consumerNames = heart.config.consumers.filter((c) => c.enabled).map((c) => c.name)
  const faultCtx: FaultContext = {
    kernel,
    captureService: capture.name,
    crashConsumer: CRASH_CONSUMER,
    stallFlag,
    restartThermal: heart.thermal
      ? thermalRestarter(kernel, heart.thermal, heart.config.thermal as ThermalConfig, { buffer: metrics.buffer, catalogue: metrics.catalogue }, {
          initialMs: heart.config.supervisor.restartInitialMs,
          maxMs: heart.config.supervisor.restartMaxMs,
        })
      : async () => {
          throw new Error('thermal is disabled in this run')
        },
  }
  const faults: FaultRecord[] = plan.map((p) => ({ ...p, startedS: null, endedS: null, recoveredS: null, recoveryS: null, effect: {}, error: null }))
  const faultBooks = faults.map(() => ({ seconds: 0, published: 0, minFps: Infinity, lostBy: {} as Record<string, number>, thermalLost: 0, thermalFrames: 0, rtpMax: 0, healthyRun: 0, guardUntil: Infinity }))

  // Every histogram, second by second.
  const h = {
    rtd: new SecondBySecond(metrics.histogram(HeartMetric.frameLatency, { stage: 'receive_to_decode' })),
    rtp: new SecondBySecond(metrics.histogram(HeartMetric.frameLatency, { stage: 'receive_to_publish' })),
    ptc: new SecondBySecond(metrics.histogram(HeartMetric.frameLatency, { stage: 'publish_to_consume' })),
    decode: new SecondBySecond(metrics.histogram(HeartMetric.decodeDuration)),
    tick: new SecondBySecond(metrics.histogram(HeartMetric.loopTickInterval)),
  }
  // Without thermal the run's catalogue has no thermal series (nothing would count them).
  const thermalLost: Counter[] = heart.thermal ? THERMAL_LOSS_REASONS.map((reason) => metrics.counter(HeartMetric.thermalLost, { reason })) : []
  const thermalRing = heart.thermal?.ring ?? null

  const totals = new Totals()
  const seconds: SoakSecond[] = []
  const steadyBooks: Record<string, { offered: number; lost: number }> = {}
  let steadyProducerLost = 0
  let steadyPublished = 0
  let steadySeconds = 0
  let steadyThermalFrames = 0
  let steadyThermalLost = 0
  let lastPublished = capture.ring.published()
  let lastThermal = thermalRing?.published() ?? 0n
  let lastThermalLost = thermalLost.reduce((a, c) => a + c.value(), 0)
  let lastCpu = process.cpuUsage()
  let lastMs = performance.now()
  const startMs = lastMs
  let occSum = 0
  let occN = 0
  let occMax = 0

  const occupancyTimer = setInterval(() => {
    const s = capture.ring.stats()
    const o = s.slotCount > 0 ? s.slotsInUse / s.slotCount : 0
    occSum += o
    occN++
    if (o > occMax) occMax = o
  }, OCCUPANCY_EVERY_MS)

  const faultActions: Array<Promise<void>> = []
  const act = (i: number, what: 'start' | 'end', tS: number): void => {
    const f = faults[i]!
    if (what === 'start') f.startedS = tS
    else f.endedS = tS
    log(`soak: t=${tS}s ${what} ${f.kind}`)
    faultActions.push(
      (what === 'start' ? startFault(f.kind, faultCtx) : endFault(f.kind, faultCtx)).catch((error: unknown) => {
        f.error = error instanceof Error ? error.message : String(error)
        log(`soak: ${f.kind} ${what} failed: ${f.error}`)
      }),
    )
  }

  // What the sampler itself costs the main thread (it runs between ticks): the previous call's duration.
  let lastSampleMs = 0
  const sample = (): void => {
    const now = performance.now()
    const dt = (now - lastMs) / 1000
    lastMs = now
    const t = Math.round((now - startMs) / 1000)
    const published = capture.ring.published()
    const fps = Number(published - lastPublished) / dt
    lastPublished = published
    const report = heart.report()
    const consumers: SoakSecond['consumers'] = {}
    for (const [name, c] of Object.entries(report.consumers)) {
      const dropped: Record<string, number> = {}
      let lost = 0
      for (const [reason, n] of Object.entries(c.dropped)) {
        const d = totals.delta(`${name}/drop/${reason}`, n)
        if (d > 0) dropped[reason] = d
        if (isLoss(reason)) lost += d
      }
      consumers[name] = { offered: totals.delta(`${name}/published`, c.published), delivered: totals.delta(`${name}/delivered`, c.delivered), lost, dropped, lag: c.lag }
    }
    const producerLost = totals.delta('producer/no_slot', capture.ring.stats().noSlotDrops)
    const thermalNow = thermalRing?.published() ?? 0n
    const thermalHz = thermalRing ? Number(thermalNow - lastThermal) / dt : null
    lastThermal = thermalNow
    const lostNow = thermalLost.reduce((a, c) => a + c.value(), 0)
    const thermalLostS = Math.max(0, lostNow - lastThermalLost)
    lastThermalLost = Math.max(lastThermalLost, lostNow)
    const cpu = process.cpuUsage(lastCpu)
    lastCpu = process.cpuUsage()
    const deltas = { rtd: h.rtd.next(), rtp: h.rtp.next(), ptc: h.ptc.next(), decode: h.decode.next(), tick: h.tick.next() }

    // Faults: start and end on schedule, then watch for recovery.
    const view: RecoveryView = {
      fps,
      nominalFps: fps0,
      cameraState: report.camera.state,
      consumers,
      workerState: (name) => {
        try {
          return kernel.supervisor.status(name).state
        } catch {
          return 'none'
        }
      },
      thermalHz,
      thermalLost: thermalLostS,
    }
    let inFault = false
    faults.forEach((f, i) => {
      const book = faultBooks[i]!
      if (f.startedS === null && t >= f.atS) act(i, 'start', t)
      if (f.startedS !== null && f.endedS === null && t >= f.atS + f.holdS && (f.holdS > 0 || t > f.startedS)) act(i, 'end', t)
      const open = f.startedS !== null && t > f.startedS && t <= book.guardUntil
      if (f.startedS !== null && t <= book.guardUntil) inFault = true
      if (open) {
        book.seconds++
        book.published += fps * dt
        book.minFps = Math.min(book.minFps, fps)
        for (const [name, c] of Object.entries(consumers)) book.lostBy[name] = (book.lostBy[name] ?? 0) + c.lost
        book.thermalLost += thermalLostS
        book.thermalFrames += thermalHz === null ? 0 : thermalHz * dt
        const rtp = spread(deltas.rtp)
        if (rtp.max !== null) book.rtpMax = Math.max(book.rtpMax, rtp.max)
      }
      if (f.endedS !== null && f.recoveredS === null && t > f.endedS) {
        book.healthyRun = healthyAfter(f.kind, view, { crashConsumer: CRASH_CONSUMER, stallConsumer: STALL_CONSUMER }) ? book.healthyRun + 1 : 0
        if (book.healthyRun >= 2) {
          f.recoveredS = t - 1
          f.recoveryS = f.recoveredS - f.endedS
          book.guardUntil = t + GUARD_S
          log(`soak: t=${t}s ${f.kind} recovered (${f.recoveryS} s after it ended)`)
        }
      }
    })

    const steady = t > warmupS && !inFault
    if (steady) {
      steadySeconds++
      steadyPublished += fps * dt
      steadyProducerLost += producerLost
      for (const [name, c] of Object.entries(consumers)) {
        const b = (steadyBooks[name] ??= { offered: 0, lost: 0 })
        b.offered += c.offered
        b.lost += c.lost
      }
      steadyThermalFrames += thermalHz === null ? 0 : thermalHz * dt
      steadyThermalLost += thermalLostS
      for (const s of Object.values(h)) s.pool()
    }
    seconds.push({
      t,
      steady,
      fps: round(fps, 2),
      consumers,
      producer_lost: producerLost,
      latency_ms: { receive_to_decode: spread(deltas.rtd), receive_to_publish: spread(deltas.rtp), publish_to_consume: spread(deltas.ptc) },
      decode_ms: spread(deltas.decode),
      tick_ms: spread(deltas.tick),
      ring: { occupancy_mean: occN > 0 ? round(occSum / occN, 3) : 0, occupancy_max: round(occMax, 3) },
      thermal: { hz: thermalHz === null ? null : round(thermalHz, 2), lost: thermalLostS },
      rss_mb: mb(process.memoryUsage.rss()),
      heap_used_mb: heapsOf(report, 'used'),
      heap_total_mb: heapsOf(report, 'total'),
      cpu_percent: round(((cpu.user + cpu.system) / 1e3 / (dt * 1000)) * 100, 1),
      thread_cpu_percent: threadCpuOf(report),
      camera_state: report.camera.state,
      load1: round(loadavg()[0]!, 2),
      sampler_ms: round(lastSampleMs, 3),
    })
    occSum = occN = occMax = 0
    if (t % 30 === 0) {
      const s = seconds[seconds.length - 1]!
      log(`soak: t=${t}s fps ${s.fps} rtp p99 ${s.latency_ms.receive_to_publish.p99 ?? '-'} ms tick p99 ${s.tick_ms.p99 ?? '-'} ms thermal ${s.thermal.hz ?? '-'} Hz rss ${s.rss_mb} MB cpu ${s.cpu_percent} % load ${s.load1}`)
    }
    lastSampleMs = performance.now() - now
  }

  const sampler = setInterval(sample, 1000)
  await new Promise<void>((resolve) => setTimeout(resolve, durationS * 1000 + 50))
  clearInterval(sampler)
  clearInterval(occupancyTimer)
  await Promise.all(faultActions)
  Atomics.store(stallFlag, 0, 0)
  viewer.close()
  const summary: RunSummary = await heart.stop()
  const loadEnd = loadavg()

  // RSS: judged on its drift over the steady seconds (steadyDrift); the whole-run change, faults included,
  // is reported beside it: the mean of the first window after warm-up against the mean of the last.
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  const drift = steadyDrift(seconds.map((s) => ({ t: s.t, value: s.rss_mb, steady: s.steady })))
  const rssWindow = Math.max(5, Math.min(60, Math.round((durationS - warmupS) / 10)))
  const afterWarmup = seconds.filter((s) => s.t > warmupS && s.t <= warmupS + rssWindow)
  const lastWindow = seconds.slice(-rssWindow)
  const rssBase = afterWarmup.length >= 5 ? mean(afterWarmup.map((s) => s.rss_mb)) : null
  const rssEnd = lastWindow.length >= 5 && seconds.length >= warmupS + 2 * rssWindow ? mean(lastWindow.map((s) => s.rss_mb)) : null
  const rssGrowth = drift === null ? null : drift.ratio
  // What each fault did to memory: the mean of the 5 s before it against the 5 s after its window.
  const rssAround = (fromS: number, toS: number): number | null => {
    const xs = seconds.filter((s) => s.t >= fromS && s.t < toS).map((s) => s.rss_mb)
    return xs.length >= 3 ? mean(xs) : null
  }

  const steadyFigures: SteadyFigures = {
    seconds: steadySeconds,
    consumers: steadyBooks,
    producerLost: steadyProducerLost,
    published: Math.round(steadyPublished),
    tickP99Ms: h.tick.steady.count > 0 ? round(h.tick.steady.percentile(99), 3) : null,
    receiveToPublishP99Ms: h.rtp.steady.count > 0 ? round(h.rtp.steady.percentile(99), 3) : null,
    thermalHz: thermalRing && steadySeconds > 0 ? round(steadyThermalFrames / steadySeconds, 3) : null,
    thermalLoss: thermalRing && steadyThermalFrames + steadyThermalLost > 0 ? round(steadyThermalLost / (steadyThermalFrames + steadyThermalLost), 5) : null,
    rssGrowth: rssGrowth === null ? null : round(rssGrowth, 4),
  }
  const checks = judge(steadyFigures)
  if (faults.length > 0) {
    // The run must also come back from every fault it played.
    const recovered = faults.filter((f) => f.recoveredS !== null && f.error === null).length
    checks.push({ name: 'scripted faults recovered', target: 'all', value: recovered, shown: `${recovered} of ${faults.length}`, pass: recovered === faults.length })
  }
  const pass = checks.every((c) => c.pass)

  faults.forEach((f, i) => {
    const b = faultBooks[i]!
    const others = Object.entries(b.lostBy).filter(([name]) => name !== (f.kind === 'stalled_consumer' ? STALL_CONSUMER : f.kind === 'consumer_crash' ? CRASH_CONSUMER : ''))
    f.effect = {
      window_s: b.seconds,
      min_fps: b.seconds > 0 ? round(b.minFps, 1) : null,
      frames_published: Math.round(b.published),
      lost_by_consumer: b.lostBy,
      others_lost: f.kind === 'stalled_consumer' || f.kind === 'consumer_crash' ? others.reduce((a, [, n]) => a + n, 0) : undefined,
      thermal_lost: b.thermalLost,
      thermal_frames: Math.round(b.thermalFrames),
      receive_to_publish_max_ms: round(b.rtpMax, 2),
      rss_step_mb: (() => {
        if (f.startedS === null) return null
        const before = rssAround(f.startedS - 5, f.startedS)
        const end = Math.min(faultBooks[i]!.guardUntil, durationS)
        const after = rssAround(end, end + 5)
        return before === null || after === null ? null : round(after - before, 1)
      })(),
    }
  })

  const pooled = (s: HistogramSnapshot): Spread => spread(s)
  const worst = worstDropRatio(steadyFigures)
  const steadyResult = {
    seconds: steadySeconds,
    frames_per_s: steadySeconds > 0 ? round(steadyPublished / steadySeconds, 2) : 0,
    drop_ratio_worst: round(worst.ratio, 6),
    drop_ratio_worst_consumer: worst.consumer ?? '',
    producer_lost: steadyProducerLost,
    tick_ms_p50: pooled(h.tick.steady).p50,
    tick_ms_p99: steadyFigures.tickP99Ms,
    tick_ms_max: pooled(h.tick.steady).max,
    receive_to_publish_ms_p50: pooled(h.rtp.steady).p50,
    receive_to_publish_ms_p99: steadyFigures.receiveToPublishP99Ms,
    receive_to_publish_ms_max: pooled(h.rtp.steady).max,
    receive_to_decode_ms_p99: pooled(h.rtd.steady).p99,
    publish_to_consume_ms_p50: pooled(h.ptc.steady).p50,
    publish_to_consume_ms_p99: pooled(h.ptc.steady).p99,
    decode_ms_p50: pooled(h.decode.steady).p50,
    decode_ms_p99: pooled(h.decode.steady).p99,
    thermal_hz: steadyFigures.thermalHz,
    thermal_loss_ratio: steadyFigures.thermalLoss,
    rss_growth_ratio: steadyFigures.rssGrowth,
    rss_drift_mb_per_min: drift === null ? null : round(drift.perMinute, 3),
    cpu_percent_mean: round(mean(seconds.filter((s) => s.steady).map((s) => s.cpu_percent)), 1),
    // The harness's own main-thread cost once a second (it shares the thread with the tick loop).
    sampler_ms_p50: round(median(seconds.map((s) => s.sampler_ms)), 3),
    sampler_ms_max: round(Math.max(...seconds.map((s) => s.sampler_ms)), 3),
  }
  const wholeRun = {
    duration_s: summary.duration_s,
    published: summary.published,
    frames_per_s: summary.frames_per_s,
    tick_ms_p50: spread(h.tick.all).p50,
    tick_ms_p99: spread(h.tick.all).p99,
    tick_ms_max: spread(h.tick.all).max,
    receive_to_publish_ms_p99: spread(h.rtp.all).p99,
    receive_to_publish_ms_max: spread(h.rtp.all).max,
    rss_mb_max: summary.rss_mb.max,
    // Faults included (worker restarts): first window after warm-up against the last window.
    rss_window_s: rssWindow,
    rss_mb_after_warmup: rssBase === null ? null : round(rssBase, 1),
    rss_mb_end: rssEnd === null ? null : round(rssEnd, 1),
    rss_change_ratio: rssBase !== null && rssEnd !== null ? round(rssEnd / rssBase - 1, 4) : null,
    cpu_percent_of_one_core: summary.cpu.percent_of_one_core,
    camera_reopens: summary.health.camera.reopens_total,
    // Crashes beyond the one the consumer_crash fault causes mean a worker is failing on its own.
    worker_crashes: Object.values(summary.health.workers).reduce((a, w) => a + w.crashes, 0),
    log_warnings: logger.warnings,
    log_errors: logger.errors,
  }
  const consumerResults: Record<string, Record<string, number>> = {}
  for (const [name, c] of Object.entries(summary.health.consumers)) {
    const lost = Object.entries(c.dropped).reduce((a, [r, n]) => a + (isLoss(r) ? n : 0), 0)
    const policy = Object.entries(c.dropped).reduce((a, [r, n]) => a + (isLoss(r) ? 0 : n), 0)
    const steady = steadyBooks[name]
    consumerResults[name] = {
      published: c.published,
      delivered: c.delivered,
      lost,
      policy_skipped: policy,
      steady_offered: steady?.offered ?? 0,
      steady_lost: steady?.lost ?? 0,
      books_balance: c.delivered + lost + policy - c.published,
    }
  }

  const machineFacts = { ...machine(), load_avg_start: loadStart.map((x) => round(x, 2)), load_avg_end: loadEnd.map((x) => round(x, 2)), uptime_s: Math.round(uptime()) }
  const json: Record<string, unknown> = {
    scope: 'soak',
    machine: machineFacts,
    config: { source, duration_s: durationS, warmup_s: warmupS, guard_s: GUARD_S, consumers: [...consumerNames, verifier.name, STALL_CONSUMER], fault_plan: plan },
    pass,
    targets: checks,
    results: { steady: steadyResult, whole_run: wholeRun, ...consumerResults },
    ratios: {
      steady_fps_over_nominal: round(steadyResult.frames_per_s / fps0, 4),
      tick_p99_over_target: steadyFigures.tickP99Ms === null ? NaN : round(steadyFigures.tickP99Ms / 8, 3),
      receive_to_publish_p99_over_target: steadyFigures.receiveToPublishP99Ms === null ? NaN : round(steadyFigures.receiveToPublishP99Ms / 30, 3),
    },
    faults,
    log: logger.lines,
    seconds,
  }

  const html = renderSoakHtml(json, seconds, faults, faultBooks.map((b) => b.guardUntil), checks)
  log('')
  log(targetTable(checks))
  log('')
  for (const f of faults) {
    log(`fault ${f.kind}: at ${f.startedS ?? '-'} s, ended ${f.endedS ?? '-'} s, recovered ${f.recoveredS === null ? 'NO' : `${f.recoveredS} s (+${f.recoveryS} s)`}; ${describeEffect(f.effect)}${f.error ? `; error: ${f.error}` : ''}`)
  }
  log(`soak: ${pass ? 'every target met' : 'TARGETS MISSED'} over ${steadySeconds} steady seconds; load ${loadStart.map((x) => x.toFixed(2)).join(' ')} -> ${loadEnd.map((x) => x.toFixed(2)).join(' ')}`)
  if (options.json) {
    await mkdir(dirname(options.json), { recursive: true })
    await writeFile(options.json, soakJsonText(json))
    const htmlFile = options.html ?? htmlBeside(options.json)
    await writeFile(htmlFile, html)
    log(`soak: wrote ${options.json} and ${htmlFile}`)
  } else if (options.html) {
    await writeFile(options.html, html)
  }
  return { pass, checks, json, html }
}

/**
 * The HTML report of a soak JSON written earlier (`heart bench soak-report`):
 * the JSON holds every figure the report draws, so only the JSON is kept in
 * bench/results and the report is made again on demand.
 */
export function soakReportFromJson(json: Record<string, unknown>): string {
  const guardS = (json.config as { guard_s: number }).guard_s
  const faults = json.faults as FaultRecord[]
  // A fault's guard ends GUARD_S after the second its recovery was seen,
  // which is one second after recoveredS (see the recovery check above).
  const guards = faults.map((f) => (f.recoveredS === null ? Infinity : f.recoveredS + 1 + guardS))
  return renderSoakHtml(json, json.seconds as SoakSecond[], faults, guards, json.targets as TargetCheck[])
}

/** Reads a soak JSON and writes its HTML report; returns the report's path. */
export async function writeSoakReport(jsonFile: string, htmlFile = htmlBeside(jsonFile)): Promise<string> {
  let json: Record<string, unknown>
  try {
    json = JSON.parse(await readFile(jsonFile, 'utf8')) as Record<string, unknown>
  } catch (err) {
    throw new UsageError(`heart bench soak-report: --from ${jsonFile}: ${(err as Error).message}; give a JSON written by heart bench soak --json`)
  }
  if (json.scope !== 'soak' || !Array.isArray(json.seconds)) throw new UsageError(`heart bench soak-report: --from ${jsonFile}: not a soak result (scope "${String(json.scope)}"); give a JSON written by heart bench soak --json`)
  await writeFile(htmlFile, soakReportFromJson(json))
  return htmlFile
}

function htmlBeside(jsonFile: string): string {
  return jsonFile.replace(/\.json$/, '') + '.html'
}

function renderSoakHtml(json: Record<string, unknown>, seconds: SoakSecond[], faults: FaultRecord[], guards: number[], checks: TargetCheck[]): string {
  const m = json.machine as Record<string, unknown>
  const cfg = json.config as { source: string; duration_s: number; warmup_s: number }
  const steady = (json.results as { steady: Record<string, unknown> }).steady
  const t = seconds.map((s) => s.t)
  const names = [...new Set(seconds.flatMap((s) => Object.keys(s.consumers)))]
  const bands: Band[] = [{ fromS: 0, toS: cfg.warmup_s, label: 'warm-up' }]
  faults.forEach((f, i) => {
    if (f.startedS !== null) bands.push({ fromS: f.startedS, toS: Math.min(guards[i]!, cfg.duration_s), label: f.kind })
  })
  const col = <T>(f: (s: SoakSecond) => T): T[] => seconds.map(f)
  // A JSON written before a figure existed (an older soak) has no such key:
  // its chart is left out rather than drawn empty.
  const perThread = (title: string, unit: string, of: (s: SoakSecond) => Record<string, number> | undefined): Chart => ({
    title,
    unit,
    series: [...new Set(seconds.flatMap((s) => Object.keys(of(s) ?? {})))].map((name) => ({ name, values: col((s) => of(s)?.[name] ?? null) })),
  })
  const charts: Chart[] = [
    { title: 'Frames published per second', unit: 'fps', series: [{ name: 'published', values: col((s) => s.fps) }] },
    { title: 'Frames lost per second, by consumer (policy skips not counted)', unit: 'frames', series: [...names.map((n) => ({ name: n, values: col((s) => s.consumers[n]?.lost ?? null) })), { name: 'producer (no slot)', values: col((s) => s.producer_lost) }] },
    {
      title: 'Receive to publish',
      unit: 'ms',
      log: true,
      target: { value: 30, label: 'p99 <= 30' },
      series: [
        { name: 'p50', values: col((s) => s.latency_ms.receive_to_publish.p50) },
        { name: 'p99', values: col((s) => s.latency_ms.receive_to_publish.p99) },
        { name: 'max', values: col((s) => s.latency_ms.receive_to_publish.max) },
      ],
    },
    {
      title: 'Publish to consume (all consumers)',
      unit: 'ms',
      log: true,
      series: [
        { name: 'p50', values: col((s) => s.latency_ms.publish_to_consume.p50) },
        { name: 'p99', values: col((s) => s.latency_ms.publish_to_consume.p99) },
        { name: 'max', values: col((s) => s.latency_ms.publish_to_consume.max) },
      ],
    },
    {
      title: 'Decode time per frame',
      unit: 'ms',
      log: true,
      series: [
        { name: 'p50', values: col((s) => s.decode_ms.p50) },
        { name: 'p99', values: col((s) => s.decode_ms.p99) },
        { name: 'max', values: col((s) => s.decode_ms.max) },
      ],
    },
    {
      title: 'Main tick interval (period 5 ms)',
      unit: 'ms',
      log: true,
      target: { value: 8, label: 'p99 < 8' },
      series: [
        { name: 'p50', values: col((s) => s.tick_ms.p50) },
        { name: 'p99', values: col((s) => s.tick_ms.p99) },
        { name: 'max', values: col((s) => s.tick_ms.max) },
      ],
    },
    { title: 'Ring occupancy (slots holding a frame)', unit: 'fraction', series: [{ name: 'mean', values: col((s) => s.ring.occupancy_mean) }, { name: 'max', values: col((s) => s.ring.occupancy_max) }] },
    { title: 'Thermal frames per second', unit: 'Hz', target: { value: 9.5, label: '>= 9.5 Hz' }, series: [{ name: 'rate', values: col((s) => s.thermal.hz) }] },
    { title: 'Thermal frames lost per second', unit: 'frames', series: [{ name: 'lost', values: col((s) => s.thermal.lost) }] },
    { title: 'Resident memory (whole process)', unit: 'MB', series: [{ name: 'RSS', values: col((s) => s.rss_mb) }] },
    perThread('JavaScript heap in use, per thread', 'MB', (s) => s.heap_used_mb),
    perThread('JavaScript heap reserved, per thread (part of the RSS)', 'MB', (s) => s.heap_total_mb),
    perThread('CPU per thread (last 5 s, as /health shows it)', '% of one core', (s) => s.thread_cpu_percent),
    { title: 'CPU (all threads of the process)', unit: '% of one core', series: [{ name: 'cpu', values: col((s) => s.cpu_percent) }, { name: 'load avg 1 min x100', values: col((s) => s.load1 * 100) }] },
  ]
  const results = json.results as Record<string, Record<string, number>>
  return renderReport({
    title: `heart soak: ${cfg.source}`,
    subtitle: `${cfg.duration_s} s run, ${seconds.filter((s) => s.steady).length} steady seconds, written ${new Date().toISOString()}`,
    checks,
    facts: [
      ['CPU', `${String(m.cpu_model)} (${String(m.cores)} cores)`],
      ['memory', `${String(m.memory_gb)} GiB`],
      ['OS / Node', `${String(m.os)} / ${String(m.node)}`],
      ['load average at start / end', `${(m.load_avg_start as number[]).join(' ')} / ${(m.load_avg_end as number[]).join(' ')}`],
      ...Object.entries(steady).map(([k, v]): [string, string] => [`steady ${k}`, String(v)]),
    ],
    tables: [
      {
        caption: 'Consumers (whole run)',
        head: ['consumer', 'published', 'delivered', 'lost', 'policy skips', 'steady offered', 'steady lost'],
        rows: names.filter((n) => results[n]).map((n) => {
          const r = results[n]!
          return [n, String(r.published), String(r.delivered), String(r.lost), String(r.policy_skipped), String(r.steady_offered), String(r.steady_lost)]
        }),
      },
      {
        caption: 'Faults',
        head: ['fault', 'at (s)', 'ended (s)', 'recovered (s)', 'recovery (s)', 'effect'],
        rows: faults.map((f) => [f.kind, String(f.startedS ?? '-'), String(f.endedS ?? '-'), f.recoveredS === null ? 'NOT RECOVERED' : String(f.recoveredS), String(f.recoveryS ?? '-'), describeEffect(f.effect) + (f.error ? `; error: ${f.error}` : '')]),
      },
    ],
    t,
    bands,
    charts: charts.filter((c) => c.series.length > 0),
  })
}

/** A fault's effect as one readable line: "window 10 s, min fps 1, lost: a 3, b 0, ...". */
function describeEffect(effect: Record<string, unknown>): string {
  return Object.entries(effect)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => {
      const name = k.replace(/_/g, ' ')
      if (typeof v === 'object') return `${name}: ${Object.entries(v as Record<string, number>).map(([n, x]) => `${n} ${x}`).join(', ')}`
      return `${name} ${String(v)}`
    })
    .join('; ')
}

/** The JSON file: readable keys, and one line per second so a 10-minute run stays a reviewable size. */
function soakJsonText(json: Record<string, unknown>): string {
  const { seconds, ...rest } = json
  const head = JSON.stringify({ ...rest, seconds: [] }, null, 2)
  const body = (seconds as unknown[]).map((s) => `    ${JSON.stringify(s)}`).join(',\n')
  return head.replace(/"seconds": \[\]\n\}$/, `"seconds": [\n${body}\n  ]\n}`) + '\n'
}
