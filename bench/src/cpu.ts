// `heart bench cpu`: what the whole runtime costs against decoding alone.
// `heart run` with its defaults (the built-in 1080p60 test camera, the
// default consumers, one live viewer, the thermal emulator) in a child process, and the FFmpeg
// CLI decoding the same stream at real time to the null muxer with the same
// decoder threading, one after the other, alternating which goes first, for
// N rounds. Each side is measured from the outside over the same steady
// window after a warm-up: process CPU (every thread, /proc/PID/stat), each of
// heart's threads by name (/proc/PID/task/*/comm and stat; heart names its
// workers' threads), resident memory, frames per second, and heart's tick
// p99 over the whole run (start-up included, from its --summary) and over
// its recent window (/health). One side at a time, so neither takes the
// other's core on a two-core machine; alternating, so a load change on a
// shared machine hits both alike over the rounds.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { loadavg, homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { UsageError } from '@heart/cli'
import { freeLoopbackPort } from '@heart/telemetry/testing'
import { benchClip, sourceFile } from './decode.js'
import { HEART_BIN, processCpuMs, residentMb, stopChild, threadTimes, waitForHttp, type ThreadTime } from './proc.js'
import { watchLive } from './live-viewer.js'
import { loadAverage, machine, median, round, table, writeReport, type BenchReport } from './report.js'

/** heart run's own default source (packages/cli/src/config.ts). */
export const DEFAULT_SOURCE = 'testsrc://?size=1920x1080&fps=60'
/** The camera-like clip of --noisy: testsrc2 under temporal noise, 9 Mbit/s, 20 s before it loops. */
export const NOISY_LOOK = Object.freeze({ noise: 20, bitrate: '9M' })
const NOISY_SECONDS = 20
/**
 * Decoder threading of heart's live sources (native/src/media/decoder.rs):
 * FFmpeg's automatic thread count, slice threads only and low delay, so a
 * frame leaves as soon as it is decoded. The CLI gets the same.
 */
const DECODER_ARGS = ['-threads', '0', '-thread_type', 'slice', '-flags', 'low_delay']
/** The name the bench gives the unnamed threads of heart's process (Node's, the libuv pool's, FFmpeg's). */
const UNNAMED = 'node'

export interface CpuBenchOptions {
  /** Alternating rounds, each measuring both sides (default 3). */
  rounds?: number
  /** Measured seconds per side and round, after the warm-up (default 20). */
  seconds?: number
  /** Seconds each side runs before its window starts (default 5). */
  warmupS?: number
  /** heart's source URL (default heart run's own default); the FFmpeg CLI decodes the same file or camera. */
  source?: string
  /** Use the camera-like noisy clip (generated once with the FFmpeg CLI and cached) as the source. */
  noisy?: boolean
  json?: string
  log?: (line: string) => void
}

/** What both sides report for one round. */
interface SideFigures {
  cpu_percent: number
  frames_per_s: number
  rss_mb: number
  rss_peak_mb: number
  load1: number
}

interface HeartFigures extends SideFigures {
  /** By thread name, per cent of one core over the window (/proc). */
  threads: Map<string, number>
  /** /health's own cpu_percent figures at the window's end, by worker (and main). */
  health_cpu: Map<string, number>
  tick_ms_p99_run: number | null
  tick_ms_p99_recent: number | null
  status: string
}

/** The two commands of a round: heart's source and the FFmpeg CLI's input arguments. */
export interface CpuPlan {
  /** What `heart run --source` gets; undefined: its own default. */
  heartSource: string | undefined
  /** The source as reported (heart's default spelt out). */
  shown: string
  /** The FFmpeg CLI's input arguments; for the test camera they are known once heart has made its clip. */
  ffmpegInput: () => string[]
}

/** The cache directory of heart's test clips (native/src/testsrc.rs cache_dir). */
function testClipDir(): string {
  return process.env['HEART_CACHE_DIR'] || join(homedir(), '.cache', 'heart')
}

/**
 * The clip heart generated for a testsrc:// URL: the newest clip version in
 * its cache with that codec, size, rate and length (the name testsrc.rs
 * gives it). heart must have run once on that URL.
 */
function testClipOf(url: URL): string {
  const codec = url.searchParams.get('codec') === 'h265' ? 'hevc' : (url.searchParams.get('codec') ?? 'h264')
  const size = url.searchParams.get('size') ?? '1920x1080'
  const fps = Number(url.searchParams.get('fps') ?? 30)
  const seconds = url.searchParams.get('seconds') ?? '2'
  const dir = testClipDir()
  const tail = `-${codec}-${size}-${fps}fps-${seconds}s.mp4`
  const found = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^testsrc-v\d+-/.test(f) && f.endsWith(tail))
        .sort((a, b) => Number(/^testsrc-v(\d+)/.exec(b)![1]) - Number(/^testsrc-v(\d+)/.exec(a)![1]))
    : []
  if (found.length === 0) throw new Error(`no test clip *${tail} in ${dir}: heart run makes it on its first run with this source`)
  return join(dir, found[0]!)
}

/** Adds heart's file options for a live-like file (loop at its own pace) unless the URL sets them. */
function liveFile(source: string): string {
  const url = new URL(source)
  for (const key of ['loop', 'realtime']) if (!url.searchParams.has(key)) url.searchParams.set(key, '1')
  return url.toString()
}

/** How each side opens the source the user gave (or the default), or a usage error for one the FFmpeg CLI cannot take. */
export function planCpu(options: Pick<CpuBenchOptions, 'source' | 'noisy'>): CpuPlan {
  if (options.noisy && options.source !== undefined) throw new UsageError('heart bench cpu: give --source or --noisy, not both (--noisy is a generated file source)')
  if (options.noisy) {
    const clip = benchClip('h264', NOISY_SECONDS, NOISY_LOOK).path
    const source = liveFile(`file://${clip}`)
    return { heartSource: source, shown: source, ffmpegInput: () => ['-re', '-stream_loop', '-1', '-i', clip] }
  }
  const given = options.source
  const source = given ?? DEFAULT_SOURCE
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1]?.toLowerCase()
  switch (scheme) {
    case 'testsrc': {
      const url = new URL(source)
      return { heartSource: given, shown: source, ffmpegInput: () => ['-re', '-stream_loop', '-1', '-i', testClipOf(url)] }
    }
    case 'file': {
      const path = sourceFile(source)
      const live = liveFile(source)
      return { heartSource: live, shown: live, ffmpegInput: () => ['-re', '-stream_loop', '-1', '-i', path] }
    }
    case 'rtsp':
    case 'rtsps': {
      // heart's own option is not the camera's: FFmpeg takes the transport as a flag.
      const url = new URL(source)
      const transport = url.searchParams.get('transport') === 'udp' ? 'udp' : 'tcp'
      url.searchParams.delete('transport')
      return { heartSource: source, shown: source, ffmpegInput: () => ['-rtsp_transport', transport, '-i', url.toString()] }
    }
    default:
      throw new UsageError(`heart bench cpu: --source ${source.split(':')[0]}: the FFmpeg CLI side cannot decode it; use testsrc://, file:///path or rtsp://`)
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface Started {
  child: ChildProcess
  exited: Promise<void>
  stderr: () => string
}

export function start(command: string, args: string[], stdout: 'ignore' | 'pipe'): Started {
  const child = spawn(command, args, { stdio: ['ignore', stdout, 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.once('error', (err) => (stderr += `\n${err.message}`))
  return { child, exited, stderr: () => stderr }
}

/** Per cent of one core each thread name used between two readings (threads born or gone in between count from what was read). */
export function threadShares(begin: ThreadTime[], end: ThreadTime[], pid: number, seconds: number): Map<string, number> {
  const before = new Map(begin.map((t) => [t.tid, t.cpuMs]))
  const shares = new Map<string, number>()
  for (const t of end) {
    const name = t.tid === pid ? 'main' : t.name
    const used = t.cpuMs - (before.get(t.tid) ?? 0)
    shares.set(name, (shares.get(name) ?? 0) + used / (seconds * 10))
  }
  return shares
}

interface HealthSlice {
  status: string
  camera: { frames_total?: number }
  loop: { tick_ms_p99: number }
  workers: Record<string, { state: string; cpu_percent?: number | null }>
  main_thread?: { cpu_percent: number | null }
}

async function health(base: string): Promise<HealthSlice> {
  return (await (await fetch(`${base}/health`)).json()) as HealthSlice
}

/** Resolves once the camera has published and every worker runs (it fails after timeoutMs or when heart exits). */
export async function waitUntilRunning(base: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited early with code ${child.exitCode}`)
    const h = await health(base)
    const workers = Object.values(h.workers)
    if ((h.camera.frames_total ?? 0) > 0 && workers.length > 0 && workers.every((w) => w.state === 'running')) return
    if (Date.now() > end) throw new Error(`not running within ${timeoutMs} ms: ${JSON.stringify({ camera: h.camera, workers: h.workers })}`)
    await sleep(200)
  }
}

async function measureHeart(plan: CpuPlan, o: Required<Pick<CpuBenchOptions, 'seconds' | 'warmupS'>>, dir: string): Promise<HeartFigures> {
  const port = await freeLoopbackPort()
  const summaryFile = join(dir, `summary-${port}.json`)
  const base = `http://127.0.0.1:${port}`
  const args = [HEART_BIN, 'run', '--http', `127.0.0.1:${port}`, '--summary', summaryFile, ...(plan.heartSource ? ['--source', plan.heartSource] : [])]
  const side = start(process.execPath, args, 'ignore')
  const pid = side.child.pid!
  let viewer: { close(): void } | null = null
  try {
    // The first run on the test camera encodes its clip first.
    await waitForHttp(`${base}/health`, side.child, 120_000)
    // On a loaded box the workers may start seconds after HTTP answers: the warm-up starts once everything runs.
    await waitUntilRunning(base, side.child)
    // The default workload has one live viewer (live-viewer.ts); it watches through the warm-up and the window.
    viewer = watchLive({ host: '127.0.0.1', port })
    await sleep(o.warmupS * 1000)
    const h0 = await health(base)
    const [cpu0, threads0] = [await processCpuMs(pid), await threadTimes(pid)]
    const t0 = performance.now()
    await sleep(o.seconds * 1000)
    const [cpu1, threads1] = [await processCpuMs(pid), await threadTimes(pid)]
    const seconds = (performance.now() - t0) / 1000
    const h1 = await health(base)
    const rss = await residentMb(pid)
    const healthCpu = new Map<string, number>()
    if (typeof h1.main_thread?.cpu_percent === 'number') healthCpu.set('main', h1.main_thread.cpu_percent)
    for (const [name, w] of Object.entries(h1.workers)) if (typeof w.cpu_percent === 'number') healthCpu.set(name, w.cpu_percent)
    viewer.close()
    await stopChild(side.child, side.exited)
    const summary = JSON.parse(await readFile(summaryFile, 'utf8').catch(() => 'null')) as { loop?: { tick_ms_p99?: number } } | null
    return {
      cpu_percent: (cpu1 - cpu0) / (seconds * 10),
      frames_per_s: ((h1.camera.frames_total ?? 0) - (h0.camera.frames_total ?? 0)) / seconds,
      rss_mb: rss.rss,
      rss_peak_mb: rss.peak,
      load1: loadavg()[0]!,
      threads: threadShares(threads0, threads1, pid, seconds),
      health_cpu: healthCpu,
      tick_ms_p99_run: summary?.loop?.tick_ms_p99 ?? null,
      tick_ms_p99_recent: h1.loop.tick_ms_p99,
      status: h1.status,
    }
  } catch (err) {
    viewer?.close()
    await stopChild(side.child, side.exited)
    throw new Error(`heart run: ${(err as Error).message}\n${side.stderr()}`, { cause: err })
  } finally {
    await rm(summaryFile, { force: true })
  }
}

async function measureFfmpeg(plan: CpuPlan, o: Required<Pick<CpuBenchOptions, 'seconds' | 'warmupS'>>): Promise<SideFigures> {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', ...DECODER_ARGS, ...plan.ffmpegInput(), '-f', 'null', '-']
  const side = start('ffmpeg', args, 'pipe')
  const pid = side.child.pid!
  // -progress prints frame=N twice a second: the newest count is enough for a rate over many seconds.
  let frames = 0
  side.child.stdout!.on('data', (c: Buffer) => {
    const last = [...c.toString().matchAll(/^frame=(\d+)$/gm)].at(-1)
    if (last) frames = Number(last[1])
  })
  try {
    await sleep(o.warmupS * 1000)
    if (side.child.exitCode !== null) throw new Error(`exited with ${side.child.exitCode}`)
    const [cpu0, f0] = [await processCpuMs(pid), frames]
    const t0 = performance.now()
    await sleep(o.seconds * 1000)
    const [cpu1, f1] = [await processCpuMs(pid), frames]
    const seconds = (performance.now() - t0) / 1000
    const rss = await residentMb(pid)
    return { cpu_percent: (cpu1 - cpu0) / (seconds * 10), frames_per_s: (f1 - f0) / seconds, rss_mb: rss.rss, rss_peak_mb: rss.peak, load1: loadavg()[0]! }
  } catch (err) {
    throw new Error(`ffmpeg ${args.join(' ')}: ${(err as Error).message}\n${side.stderr()}`, { cause: err })
  } finally {
    await stopChild(side.child, side.exited)
  }
}

/** Median, min, max and every round of one figure, rounded. */
export function spread(xs: number[], key: string, digits = 1): Record<string, number | string> {
  return {
    [key]: round(median(xs), digits),
    [`${key}_min`]: round(Math.min(...xs), digits),
    [`${key}_max`]: round(Math.max(...xs), digits),
    [`${key}_runs`]: xs.map((x) => x.toFixed(digits)).join(' '),
  }
}

/** Median over rounds of each name's figure (a name missing in a round counts 0 there). */
export function medianByName(rounds: Map<string, number>[]): Record<string, number> {
  const names = [...new Set(rounds.flatMap((r) => [...r.keys()]))]
  const out: Record<string, number> = {}
  for (const name of names) out[name] = round(median(rounds.map((r) => r.get(name) ?? 0)), 1)
  // Largest first: where the CPU goes.
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]))
}

export async function benchCpu(options: CpuBenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const o = { rounds: options.rounds ?? 3, seconds: options.seconds ?? 20, warmupS: options.warmupS ?? 5 }
  const plan = planCpu(options)
  const loadStart = loadAverage()
  log(`cpu: ${redact(plan.shown)}; ${o.rounds} round(s) of ${o.seconds} s a side after ${o.warmupS} s warm-up; load average ${loadStart}`)
  const dir = await mkdtemp(join(tmpdir(), 'heart-bench-cpu-'))
  const hearts: HeartFigures[] = []
  const ffmpegs: SideFigures[] = []
  const paired: number[] = []
  try {
    for (let i = 0; i < o.rounds; i++) {
      // heart first in the first round: on the test camera it makes the clip the CLI then decodes.
      if (i % 2 === 0) {
        hearts.push(await measureHeart(plan, o, dir))
        ffmpegs.push(await measureFfmpeg(plan, o))
      } else {
        ffmpegs.push(await measureFfmpeg(plan, o))
        hearts.push(await measureHeart(plan, o, dir))
      }
      const h = hearts.at(-1)!
      const f = ffmpegs.at(-1)!
      paired.push(h.cpu_percent / f.cpu_percent)
      const top = [...h.threads].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, p]) => `${n} ${p.toFixed(1)}`).join(', ')
      log(
        `round ${i + 1}/${o.rounds}: heart ${h.cpu_percent.toFixed(1)} % (${h.frames_per_s.toFixed(1)} fps, ${h.rss_mb.toFixed(0)} MB, tick p99 ${h.tick_ms_p99_run} ms; ${top}), ` +
          `ffmpeg ${f.cpu_percent.toFixed(1)} % (${f.frames_per_s.toFixed(1)} fps, ${f.rss_mb.toFixed(0)} MB); ratio ${(h.cpu_percent / f.cpu_percent).toFixed(2)}; load ${loadAverage()}`,
      )
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const perFrame = (xs: SideFigures[]): number[] => xs.map((x) => (x.cpu_percent * 10) / Math.max(1, x.frames_per_s))
  const side = (xs: SideFigures[]): Record<string, number | string> => ({
    ...spread(xs.map((x) => x.cpu_percent), 'cpu_percent'),
    frames_per_s: round(median(xs.map((x) => x.frames_per_s)), 1),
    cpu_ms_per_frame: round(median(perFrame(xs)), 3),
    rss_mb: round(median(xs.map((x) => x.rss_mb)), 1),
    rss_peak_mb: round(Math.max(...xs.map((x) => x.rss_peak_mb)), 1),
    load1_median: round(median(xs.map((x) => x.load1)), 2),
  })
  const ticks = hearts.map((h) => h.tick_ms_p99_run).filter((x): x is number => x !== null)
  const heart: Record<string, number | string | null> = {
    ...side(hearts),
    tick_ms_p99: ticks.length ? round(median(ticks), 2) : null,
    tick_ms_p99_max: ticks.length ? round(Math.max(...ticks), 2) : null,
    tick_ms_p99_recent: round(median(hearts.map((h) => h.tick_ms_p99_recent ?? 0)), 2),
    health_status: hearts.map((h) => h.status).join(' '),
  }
  const ffmpeg = side(ffmpegs)
  const report: BenchReport = {
    scope: 'cpu',
    machine: {
      ...machine(),
      source: redact(plan.shown),
      ffmpeg_command: ['ffmpeg', ...DECODER_ARGS, ...safeInput(plan), '-f', 'null', '-'].join(' '),
      rounds: o.rounds,
      seconds_per_side: o.seconds,
      warmup_s: o.warmupS,
      load_average_start: loadStart,
      load_average_end: loadAverage(),
    },
    results: {
      heart,
      ffmpeg,
      heart_threads: medianByName(hearts.map((h) => h.threads)),
      heart_health_cpu_percent: medianByName(hearts.map((h) => h.health_cpu)),
    },
    ratios: {
      cpu_heart_vs_ffmpeg: round((heart['cpu_percent'] as number) / (ffmpeg['cpu_percent'] as number), 3),
      /** Median over rounds of each round's own ratio. */
      cpu_heart_vs_ffmpeg_paired: round(median(paired), 3),
      rss_heart_vs_ffmpeg: round((heart['rss_mb'] as number) / (ffmpeg['rss_mb'] as number), 3),
    },
  }
  log('')
  log(table({ heart: report.results['heart']!, ffmpeg: report.results['ffmpeg']! }))
  log('')
  log(`heart's threads (% of one core; ${UNNAMED}: unnamed threads: FFmpeg's slice threads, V8's, the libuv pool (fs, dns)): ${Object.entries(report.results['heart_threads']!).map(([n, p]) => `${n} ${p}`).join(', ')}`)
  log(`CPU heart/ffmpeg: ${report.ratios['cpu_heart_vs_ffmpeg']} (medians), ${report.ratios['cpu_heart_vs_ffmpeg_paired']} (median of rounds); goal at most 1.6 on the test camera, 1.3 on a camera-like clip`)
  await writeReport(report, options.json)
  return report
}

/** A camera URL's credentials are never written into the log or the JSON. */
function redact(text: string): string {
  return text.replace(/\/\/[^/@]*@/, '//***@')
}

/** The FFmpeg input as reported. */
function safeInput(plan: CpuPlan): string[] {
  try {
    return plan.ffmpegInput().map(redact)
  } catch {
    return ['(test clip not made)']
  }
}
