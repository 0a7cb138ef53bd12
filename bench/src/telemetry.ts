// `heart bench telemetry`: what observability costs at 60 FPS. Runs
// `heart run` on synthetic:// 1080p60 with consumers twice at the same time:
// one with telemetry fully on (metric upkeep, /metrics fetched every second
// by this process as Prometheus would, frame traces 1 in 60 and OTLP metrics
// to a receiver in this process) and one fully off (`telemetry.enabled:
// false`, nobody scraping). It compares the CPU each heart process used (all
// its threads, from /proc) over the same steady window, for several pairs.
//
// Running both sides at once, rather than one after the other, means a load
// change on a shared machine hits both alike; each pair is fresh processes.
// Experiment hooks: HEART_BENCH_ON='telemetry: {...}' replaces the "on" side's
// telemetry section (RECEIVER stands for the receiver's URL), and
// HEART_BENCH_NOSCRAPE=1 stops the scraping, to price one part at a time.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { freeLoopbackPort as freePort, startOtlpReceiver, type OtlpReceiver } from '@heart/telemetry/testing'
import { HEART_BIN, processCpuMs, stopChild, threadCpuMs, waitForHttp } from './proc.js'
import { machine, median, round, table, writeReport, type BenchReport } from './report.js'

export interface TelemetryBenchOptions {
  /** Measured seconds per run (after warm-up). Default 20. */
  seconds?: number
  /** Runs per side, alternating. Default 3. */
  runs?: number
  warmupS?: number
  size?: string
  fps?: number
  /** The camera; default synthetic:// at size/fps (no decoding: the lightest base). */
  source?: string
  consumers?: number
  json?: string
  log?: (line: string) => void
}

interface RunFigures {
  cpu_ms_per_s: number
  main_thread_cpu_ms_per_s: number
  frames_per_s: number
  scrapes: number
  spans: number
  load1: number
}

function sourceOf(o: BenchSettings): string {
  return o.source ?? `synthetic://?size=${o.size}&fps=${o.fps}`
}

/** A running `heart run` child for one side of a pair. */
interface Side {
  on: boolean
  child: ChildProcess
  base: string
  exited: Promise<void>
  stderr: () => string
  scrapes: number
  scraping?: NodeJS.Timeout
}

async function startSide(on: boolean, o: BenchSettings, receiver: OtlpReceiver, dir: string): Promise<Side> {
  const port = await freePort()
  const file = join(dir, `heart-${on ? 'on' : 'off'}.yaml`)
  const telemetry = on
    ? (process.env['HEART_BENCH_ON']?.replace('RECEIVER', receiver.url) ?? `telemetry: { enabled: true, otlp: { endpoint: "${receiver.url}" }, traces: { sampleEvery: 60 } }`)
    : 'telemetry: { enabled: false }'
  await writeFile(
    file,
    [
      `source: "${sourceOf(o)}"`,
      `http: { host: 127.0.0.1, port: ${port} }`,
      'consumers:',
      ...Array.from({ length: o.consumers }, (_, i) => `  - { name: consumer_${i}, kind: verify, depth: 8 }`),
      telemetry,
      '',
    ].join('\n'),
  )
  const child = spawn(process.execPath, [HEART_BIN, 'run', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const side: Side = { on, child, base: `http://127.0.0.1:${port}`, exited, stderr: () => stderr, scrapes: 0 }
  try {
    await waitForHttp(`${side.base}/health`, child, 30_000)
  } catch (err) {
    await stopSide(side)
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err })
  }
  if (on && !process.env['HEART_BENCH_NOSCRAPE']) {
    // Prometheus' job, done in-process: fetch the whole exposition every second.
    side.scraping = setInterval(() => {
      fetch(`${side.base}/metrics`)
        .then((r) => r.text())
        .then(() => side.scrapes++)
        .catch(() => undefined)
    }, 1000)
  }
  return side
}

async function stopSide(side: Side): Promise<void> {
  clearInterval(side.scraping)
  await stopChild(side.child, side.exited)
}

async function framesTotal(side: Side): Promise<number> {
  const health = (await (await fetch(`${side.base}/health`)).json()) as { camera: { frames_total?: number } }
  return health.camera.frames_total ?? 0
}

type BenchSettings = Required<Omit<TelemetryBenchOptions, 'json' | 'log' | 'source'>> & { source?: string }

/**
 * One pair: heart with telemetry on and heart with it off, running at the
 * same time, measured over the same window, so a load change on the machine
 * hits both sides alike.
 */
async function onePair(o: BenchSettings, receiver: OtlpReceiver, dir: string, offFirst: boolean): Promise<{ on: RunFigures; off: RunFigures }> {
  const sides: Side[] = []
  try {
    // Which side starts first alternates, so start order (core placement, warm caches) favours neither.
    for (const on of offFirst ? [false, true] : [true, false]) sides.push(await startSide(on, o, receiver, dir))
    await new Promise((r) => setTimeout(r, o.warmupS * 1000))
    const spans0 = receiver.spans.length
    const begin = await Promise.all(sides.map(async (s) => ({ frames: await framesTotal(s), cpu: await processCpuMs(s.child.pid!), main: await threadCpuMs(s.child.pid!, s.child.pid!), scrapes: s.scrapes })))
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, o.seconds * 1000))
    const end = await Promise.all(sides.map(async (s) => ({ frames: await framesTotal(s), cpu: await processCpuMs(s.child.pid!), main: await threadCpuMs(s.child.pid!, s.child.pid!), scrapes: s.scrapes })))
    const seconds = (performance.now() - t0) / 1000
    const spans = receiver.spans.length - spans0
    const figures = sides.map((s, i) => ({
      cpu_ms_per_s: (end[i]!.cpu - begin[i]!.cpu) / seconds,
      main_thread_cpu_ms_per_s: (end[i]!.main - begin[i]!.main) / seconds,
      frames_per_s: (end[i]!.frames - begin[i]!.frames) / seconds,
      scrapes: end[i]!.scrapes - begin[i]!.scrapes,
      spans: s.on ? spans : 0,
      load1: loadavg()[0]!,
    }))
    const on = sides.findIndex((s) => s.on)
    return { on: figures[on]!, off: figures[1 - on]! }
  } finally {
    await Promise.all(sides.map(stopSide))
  }
}

export async function benchTelemetry(options: TelemetryBenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const o = {
    seconds: options.seconds ?? 20,
    runs: options.runs ?? 3,
    warmupS: options.warmupS ?? 3,
    size: options.size ?? '1920x1080',
    fps: options.fps ?? 60,
    consumers: options.consumers ?? 3,
    ...(options.source ? { source: options.source } : {}),
  }
  const receiver = await startOtlpReceiver()
  const dir = await mkdtemp(join(tmpdir(), 'heart-bench-telemetry-'))
  const runs: { on: RunFigures[]; off: RunFigures[] } = { on: [], off: [] }
  const ratios: number[] = []
  try {
    for (let i = 0; i < o.runs; i++) {
      const pair = await onePair(o, receiver, dir, i % 2 === 1)
      runs.on.push(pair.on)
      runs.off.push(pair.off)
      ratios.push(pair.on.cpu_ms_per_s / pair.off.cpu_ms_per_s)
      for (const [name, r] of [['on ', pair.on], ['off', pair.off]] as const) {
        log(
          `pair ${i + 1}/${o.runs} telemetry ${name}: ${round(r.cpu_ms_per_s, 1)} CPU ms/s (main thread ${round(r.main_thread_cpu_ms_per_s, 1)}), ` +
            `${round(r.frames_per_s, 1)} fps, ${r.scrapes} scrapes, ${r.spans} spans, load ${round(r.load1, 1)}`,
        )
      }
    }
  } finally {
    await receiver.close()
    await rm(dir, { recursive: true, force: true })
  }
  const side = (xs: RunFigures[]): Record<string, number> => ({
    cpu_ms_per_s: round(median(xs.map((x) => x.cpu_ms_per_s)), 1),
    cpu_ms_per_s_min: round(Math.min(...xs.map((x) => x.cpu_ms_per_s)), 1),
    cpu_ms_per_s_max: round(Math.max(...xs.map((x) => x.cpu_ms_per_s)), 1),
    main_thread_cpu_ms_per_s: round(median(xs.map((x) => x.main_thread_cpu_ms_per_s)), 1),
    frames_per_s: round(median(xs.map((x) => x.frames_per_s)), 1),
    cpu_ms_per_frame: round(median(xs.map((x) => x.cpu_ms_per_s / Math.max(1, x.frames_per_s))), 3),
    scrapes: xs.reduce((a, x) => a + x.scrapes, 0),
    spans: xs.reduce((a, x) => a + x.spans, 0),
    runs: xs.length,
    load1_median: round(median(xs.map((x) => x.load1)), 1),
  })
  const on = side(runs.on)
  const off = side(runs.off)
  const report: BenchReport = {
    scope: 'telemetry',
    machine: { ...machine(), source: sourceOf(o), consumers: o.consumers, seconds_per_run: o.seconds },
    results: { on, off },
    ratios: {
      cpu_on_vs_off: round(on['cpu_ms_per_s']! / off['cpu_ms_per_s']!, 4),
      /** Median over pairs of each pair's own ratio (the two sides of a pair ran at the same time). */
      cpu_on_vs_off_paired: round(median(ratios), 4),
      main_thread_cpu_on_minus_off_ms_per_s: round(on['main_thread_cpu_ms_per_s']! - off['main_thread_cpu_ms_per_s']!, 2),
      cpu_per_frame_on_vs_off: round(on['cpu_ms_per_frame']! / off['cpu_ms_per_frame']!, 4),
    },
  }
  log(table(report.results))
  log(`CPU on/off: ${report.ratios['cpu_on_vs_off']} (medians), ${report.ratios['cpu_on_vs_off_paired']} (median of paired ratios); budget: at most 1.03`)
  await writeReport(report, options.json)
  return report
}
