// `heart bench live`: what watching costs, passthrough against MJPEG. One
// `heart run` in a child process (its defaults: the built-in 1080p60 test
// camera, the default consumers with the MJPEG encoder, the passthrough on);
// in each round three windows, no viewer / N live.mp4 viewers / N
// /stream.mjpeg viewers (the last two alternating in order between rounds),
// each measured from the outside after a warm-up: process CPU and each
// thread's (/proc). A window's cost is its CPU less the same round's
// no-viewer window. With --chromium, Debian's chromium then opens the live
// view for a window and reports the glass-to-glass latency the page measured
// (p50 / p99), with the passthrough viewers' CPU beside it.
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { freeLoopbackPort } from '@heart/telemetry/testing'
import { HEART_BIN, processCpuMs, stopChild, threadTimes, waitForHttp } from './proc.js'
import { start, threadShares, waitUntilRunning } from './cpu.js'
import { watchLive } from './live-viewer.js'
import { machine, median, percentile, round, table, writeReport, type BenchReport } from './report.js'

export interface LiveBenchOptions {
  rounds?: number
  seconds?: number
  warmupS?: number
  viewers?: number
  source?: string
  /** Also measure the latency in chromium (/usr/bin/chromium through playwright-core). */
  chromium?: boolean
  json?: string
  log?: (line: string) => void
}

type Mode = 'idle' | 'mp4' | 'mjpeg'
const PATHS: Record<Exclude<Mode, 'idle'>, string> = { mp4: '/cameras/main/live.mp4', mjpeg: '/stream.mjpeg' }
/** The threads a viewer's cost lands on: heart's main thread (the sockets), the live-mp4 worker, the MJPEG encoder. */
const THREADS = ['main', 'live_mp4_main', 'telemetry_strea']

interface Window {
  cpu_percent: number
  threads: Map<string, number>
  bytes_per_s: number
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function measureWindow(pid: number, port: number, mode: Mode, viewers: number, o: { seconds: number; warmupS: number }): Promise<Window> {
  let bytes = 0
  const watching = mode === 'idle' ? [] : Array.from({ length: viewers }, () => watchLive({ host: '127.0.0.1', port }, PATHS[mode], (c) => (bytes += c.length)))
  try {
    await sleep(o.warmupS * 1000)
    const [cpu0, threads0] = [await processCpuMs(pid), await threadTimes(pid)]
    const bytes0 = bytes
    const t0 = performance.now()
    await sleep(o.seconds * 1000)
    const [cpu1, threads1] = [await processCpuMs(pid), await threadTimes(pid)]
    const seconds = (performance.now() - t0) / 1000
    return { cpu_percent: (cpu1 - cpu0) / (seconds * 10), threads: threadShares(threads0, threads1, pid, seconds), bytes_per_s: (bytes - bytes0) / seconds }
  } finally {
    for (const w of watching) w.close()
    // Let the encoder notice it is no longer wanted before the next window.
    await sleep(1000)
  }
}

/** The live view in chromium for `seconds`: the latency figures the page measured, or why there are none. */
async function chromiumLatency(base: string, seconds: number): Promise<{ p50: number; p99: number; frames: number; mode: string } | string> {
  // @heart/stream's launcher (Debian's chromium, the offline flags, a teardown that ends only its own processes).
  const launcher = import.meta.resolve('@heart/stream/testing')
  type Page = { goto(url: string): Promise<unknown>; waitForTimeout(ms: number): Promise<void>; evaluate<T>(fn: () => T): Promise<T> }
  const { openChromiumPage } = (await import(launcher)) as { openChromiumPage(origin: string, teardown: (fn: () => unknown) => void): Promise<{ page: Page }> }
  const teardowns: Array<() => unknown> = []
  try {
    const { page } = await openChromiumPage(base, (fn) => teardowns.push(fn))
    await page.goto(`${base}/`)
    await page.waitForTimeout(5000)
    await page.evaluate(() => ((globalThis as unknown as { heartLive: { latencyMs: number[] } }).heartLive.latencyMs.length = 0))
    await page.waitForTimeout(seconds * 1000)
    const live = await page.evaluate(() => {
      const l = (globalThis as unknown as { heartLive: { latencyMs: number[]; mode: string } }).heartLive
      return { latencyMs: [...l.latencyMs], mode: l.mode }
    })
    if (live.mode !== 'mse' || live.latencyMs.length === 0) return `the page played ${live.mode} and measured ${live.latencyMs.length} frames`
    return { p50: percentile(live.latencyMs, 50), p99: percentile(live.latencyMs, 99), frames: live.latencyMs.length, mode: live.mode }
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
}

export async function benchLive(options: LiveBenchOptions = {}): Promise<BenchReport> {
  const o = { rounds: options.rounds ?? 2, seconds: options.seconds ?? 20, warmupS: options.warmupS ?? 5, viewers: options.viewers ?? 3 }
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const dir = await mkdtemp(join(tmpdir(), 'heart-bench-live-'))
  const port = await freeLoopbackPort()
  const base = `http://127.0.0.1:${port}`
  const side = start(process.execPath, [HEART_BIN, 'run', '--http', `127.0.0.1:${port}`, ...(options.source ? ['--source', options.source] : [])], 'ignore')
  const pid = side.child.pid!
  const costs: Record<Exclude<Mode, 'idle'>, { cpu: number[]; threads: Map<string, number[]>; bytes: number[] }> = {
    mp4: { cpu: [], threads: new Map(), bytes: [] },
    mjpeg: { cpu: [], threads: new Map(), bytes: [] },
  }
  const idleCpu: number[] = []
  let latency: Awaited<ReturnType<typeof chromiumLatency>> | null = null
  try {
    await waitForHttp(`${base}/health`, side.child, 120_000)
    await waitUntilRunning(base, side.child)
    for (let round = 0; round < o.rounds; round++) {
      const idle = await measureWindow(pid, port, 'idle', 0, o)
      idleCpu.push(idle.cpu_percent)
      const order: Array<Exclude<Mode, 'idle'>> = round % 2 === 0 ? ['mp4', 'mjpeg'] : ['mjpeg', 'mp4']
      for (const mode of order) {
        const w = await measureWindow(pid, port, mode, o.viewers, o)
        costs[mode].cpu.push(w.cpu_percent - idle.cpu_percent)
        costs[mode].bytes.push(w.bytes_per_s)
        for (const name of THREADS) {
          const list = costs[mode].threads.get(name) ?? []
          list.push((w.threads.get(name) ?? 0) - (idle.threads.get(name) ?? 0))
          costs[mode].threads.set(name, list)
        }
        log(`round ${round + 1}/${o.rounds}: ${o.viewers} ${mode} viewers cost ${round2(w.cpu_percent - idle.cpu_percent)} % of a core (idle ${round2(idle.cpu_percent)} %, with viewers ${round2(w.cpu_percent)} %)`)
      }
    }
    if (options.chromium) latency = await chromiumLatency(base, o.seconds)
  } finally {
    await stopChild(side.child, side.exited)
    await rm(dir, { recursive: true, force: true })
  }
  const results: BenchReport['results'] = {}
  for (const mode of ['mp4', 'mjpeg'] as const) {
    const c = costs[mode]
    results[`${o.viewers} ${mode} viewers`] = {
      cpu_percent_over_idle: round2(median(c.cpu)),
      ...Object.fromEntries(THREADS.map((name) => [`${name}_percent`, round2(median(c.threads.get(name) ?? [0]))])),
      mbit_per_s: round2((median(c.bytes) * 8) / 1e6 / o.viewers),
    }
  }
  results['no viewer'] = { cpu_percent: round2(median(idleCpu)) }
  if (latency && typeof latency !== 'string') results['chromium latency'] = { p50_ms: round(latency.p50, 0), p99_ms: round(latency.p99, 0), frames: latency.frames }
  // Two figures: the threads a viewer's work lands on (what it costs), and the whole process
  // (which also carries the other threads' load changes on a shared machine: noisier).
  const threadCost = (mode: 'mp4' | 'mjpeg'): number => THREADS.reduce((sum, name) => sum + median(costs[mode].threads.get(name) ?? [0]), 0)
  const mjpegCost = median(costs.mjpeg.cpu)
  const ratios: Record<string, number> = {
    passthrough_over_mjpeg_threads: threadCost('mjpeg') > 0 ? round(threadCost('mp4') / threadCost('mjpeg'), 3) : NaN,
    passthrough_over_mjpeg_process: mjpegCost > 0 ? round(median(costs.mp4.cpu) / mjpegCost, 3) : NaN,
  }
  for (const mode of ['mp4', 'mjpeg'] as const) results[`${o.viewers} ${mode} viewers`]!['viewer_threads_percent'] = round2(threadCost(mode))
  const report: BenchReport = { scope: 'live', machine: { ...machine(), load1: round2(loadavg()[0]!), source: options.source ?? 'heart run default (testsrc://?size=1920x1080&fps=60)' }, results, ratios }
  log(table(results))
  log(`passthrough / MJPEG CPU: ${ratios['passthrough_over_mjpeg_threads']} on the viewers' threads (${THREADS.join(', ')}), ${ratios['passthrough_over_mjpeg_process']} on the whole process (goal <= 0.1)`)
  if (typeof latency === 'string') log(`chromium latency: not measured: ${latency}`)
  await writeReport(report, options.json)
  return report
}

function round2(x: number): number {
  return round(x, 2)
}
