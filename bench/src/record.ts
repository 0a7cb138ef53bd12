// `heart bench record`: what recording costs and whether it keeps every
// frame. `heart run` in this process (the default consumers, the thermal
// emulator) with `record: { enabled: true }` on the 1080p60 test camera for
// N seconds, then: frames published against frames in the files, the
// recorder thread's CPU, what it wrote per hour, its segments and its drops.
// On the test camera every recorded picture is decoded by the FFmpeg CLI and
// its frame counter read back, so a lost frame shows as a gap, not only as a
// shorter count; other sources are counted by packets (ffprobe).
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { redactUrl } from '@heart/capture'
import { listSegments } from '@heart/record'
import type { HealthReport } from '@heart/kernel'
import { silentLogger } from '@heart/kernel'
import { runHeart } from '@heart/cli'
import { threadTimes } from './proc.js'
import { loadAverage, machine, median, percentile, round, table, writeReport, type BenchReport } from './report.js'

const run = promisify(execFile)

/** heart run's own default camera, at the rate the figures ask for. */
export const RECORD_DEFAULT_SOURCE = 'testsrc://?size=1920x1080&fps=60'
/** The recorder worker of the one camera (recorderServiceName('main')): its thread name and health key. */
const RECORDER = 'recorder_main'
/** The test camera draws its frame number as this many blocks along the top (native/src/testsrc.rs COUNTER_BITS). */
const COUNTER_BITS = 16
const SAMPLE_EVERY_MS = 1000

export interface RecordBenchOptions {
  /** Seconds to record (default 600). */
  seconds?: number
  /** Camera URL (default the 1080p60 test camera). */
  source?: string
  /** Where segments go (default a temporary folder, removed afterwards). */
  dir?: string
  json?: string
  log?: (line: string) => void
}

/** The test camera's geometry and loop, or null for any other source (no counter to read). */
export interface TestCameraPlan {
  width: number
  height: number
  /** Frames before its clip loops and the counter restarts at 0. */
  loopFrames: number
}

/** What the URL says about the test camera (testsrc.rs defaults: 30 fps, 2 s clip, 1920x1080). */
export function testCameraPlan(source: string): TestCameraPlan | null {
  if (!source.startsWith('testsrc:')) return null
  const url = new URL(source)
  const [w, h] = (url.searchParams.get('size') ?? '1920x1080').split('x').map(Number)
  const fps = nominalFps(source)!
  const seconds = Number(url.searchParams.get('seconds') ?? 2)
  return { width: w!, height: h!, loopFrames: Math.max(1, Math.round(fps * seconds)) }
}

/**
 * Frames missing from a run of decoded counters: each frame must be the one
 * after the one before, modulo the clip's loop. Returns how many frames the
 * gaps skipped and how many gaps there were (a repeat or a step back counts
 * as one gap of 0 frames: it is wrong, but nothing was lost).
 */
export function counterGaps(counters: readonly number[], loopFrames: number): { gaps: number; missing: number } {
  let gaps = 0
  let missing = 0
  for (let i = 1; i < counters.length; i++) {
    const expected = (counters[i - 1]! + 1) % loopFrames
    const got = counters[i]!
    if (got === expected) continue
    gaps++
    const skipped = (got - expected + loopFrames) % loopFrames
    if (skipped < loopFrames - 1) missing += skipped
  }
  return { gaps, missing }
}

/**
 * Frames the camera published before the recorder's first frame (it starts
 * at a keyframe, so up to a GOP is never meant to be in a file). Sampled from
 * /health it is off by the frames in flight; on the test camera the first
 * recorded counter says it exactly modulo the loop, so the estimate is moved
 * to the nearest value that agrees with it. It is never more than the
 * frames published and not recorded (atMost): /health's recorder totals are
 * up to 500 ms old when polled, which makes the estimate high.
 */
export function leadInFrames(estimate: number, firstCounter: number | null, loopFrames: number | null, atMost = Infinity): number {
  if (firstCounter === null || loopFrames === null) return Math.max(0, Math.min(estimate, atMost))
  const base = estimate - (((estimate - firstCounter) % loopFrames) + loopFrames) % loopFrames
  const candidates = [base, base + loopFrames].filter((c) => c >= 0)
  return candidates.reduce((best, c) => (Math.abs(c - estimate) < Math.abs(best - estimate) ? c : best), candidates[0] ?? 0)
}

export interface RecordCounts {
  published: number
  /** Frames in the files. */
  recorded: number
  /** Published before the recorder's first frame (its first keyframe). */
  leadIn: number
  bytes: number
  /** Seconds of video in the files. */
  seconds: number
}

/** The bench's figures from its counts: both ratios (all published, and published since recording began) and MB per hour. */
export function recordRatios(c: RecordCounts): { recorded_of_published: number; recorded_of_published_after_start: number; mb_per_hour: number; gb_per_day: number } {
  const afterStart = c.published - c.leadIn
  const mbPerHour = c.seconds > 0 ? (c.bytes / 1e6) * (3600 / c.seconds) : 0
  return {
    recorded_of_published: c.published > 0 ? c.recorded / c.published : 0,
    recorded_of_published_after_start: afterStart > 0 ? c.recorded / afterStart : 0,
    mb_per_hour: mbPerHour,
    gb_per_day: (mbPerHour * 24) / 1000,
  }
}

/** The rate a testsrc:// URL asks for (testsrc.rs default 30), or null for a camera that says its own. */
export function nominalFps(source: string): number | null {
  if (!source.startsWith('testsrc:')) return null
  return Number(new URL(source).searchParams.get('fps') ?? 30)
}

/** The counters of every frame of a file, decoded by the FFmpeg CLI (the top rows only, grey). */
async function decodedCounters(path: string, camera: TestCameraPlan): Promise<number[]> {
  const rows = 2
  const { stdout } = await run('nice', ['ffmpeg', '-v', 'error', '-threads', '2', '-i', path, '-vf', `crop=iw:${rows}:0:0,format=gray`, '-f', 'rawvideo', '-'], { encoding: 'buffer', maxBuffer: 1 << 30 })
  const frameBytes = camera.width * rows
  const block = Math.max(2, Math.floor(camera.width / COUNTER_BITS))
  const out: number[] = []
  for (let at = 0; at + frameBytes <= stdout.length; at += frameBytes) {
    let value = 0
    for (let bit = 0; bit < COUNTER_BITS; bit++) value = (value << 1) | (stdout[at + bit * block + (block >> 1)]! > 128 ? 1 : 0)
    out.push(value)
  }
  return out
}

/** Packets of the file's video stream (one per frame for H.264 / HEVC), without decoding. */
async function packetCount(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', path])
  return Number(stdout.trim())
}

interface RecorderSection {
  state: string
  frames_total: number
  bytes_total: number
  segments_total: number
  dropped: { recorder_slow: number; recorder_paused: number }
}

function recorderOf(report: HealthReport): RecorderSection | null {
  return (report as HealthReport & { recorder?: RecorderSection | null }).recorder ?? null
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export async function benchRecord(options: RecordBenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const seconds = options.seconds ?? 600
  const source = options.source ?? RECORD_DEFAULT_SOURCE
  const camera = testCameraPlan(source)
  const work = mkdtempSync(join(tmpdir(), 'heart-bench-record-'))
  const root = options.dir ? resolve(options.dir) : join(work, 'recordings')
  const configFile = join(work, 'heart.json')
  // The default consumers and thermal emulator (no `consumers:` written), recording on, nothing deleted by free space during the bench.
  writeFileSync(configFile, JSON.stringify({ source, http: { host: '127.0.0.1', port: 0 }, record: { enabled: true, dir: root, retain: { minFreeMb: 0 } } }))
  const shown = redactUrl(source)
  const loadStart = loadAverage()
  log(`record: ${shown}, ${seconds} s, segments in ${root}`)
  const heart = await runHeart({ configFile, status: false, logger: silentLogger })
  const startedAt = performance.now()
  let leadInEstimate: number | null = null
  const cpuSamples: number[] = []
  let threads0: Map<number, number>
  let threadsAt: number
  try {
    // The lead-in: what the camera published before the recorder's first frame, read as closely as polling allows.
    while (leadInEstimate === null && performance.now() - startedAt < 120_000) {
      const h = heart.report()
      const r = recorderOf(h)
      if (r && r.frames_total > 0) leadInEstimate = Number(heart.capture.ring.published()) - r.frames_total
      else await sleep(10)
    }
    if (leadInEstimate === null) throw new Error(`the recorder wrote nothing within 120 s: ${JSON.stringify(recorderOf(heart.report()))}`)
    threads0 = recorderThreadMs(await threadTimes(process.pid))
    threadsAt = performance.now()
    const endAt = startedAt + seconds * 1000
    let nextLog = performance.now() + 60_000
    while (performance.now() < endAt) {
      await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, endAt - performance.now())))
      const cpu = heart.report().workers[RECORDER]?.cpu_percent
      if (typeof cpu === 'number') cpuSamples.push(cpu)
      if (performance.now() >= nextLog) {
        nextLog += 60_000
        const r = recorderOf(heart.report())
        log(`record: t=${Math.round((performance.now() - startedAt) / 1000)} s, ${r?.frames_total ?? 0} frames, ${r?.segments_total ?? 0} segments, recorder ${r?.state ?? '?'}`)
      }
    }
  } catch (error) {
    await heart.stop()
    rmSync(work, { recursive: true, force: true })
    throw error
  }
  const threads1 = recorderThreadMs(await threadTimes(process.pid))
  const threadSeconds = (performance.now() - threadsAt) / 1000
  const final = recorderOf(heart.report())
  const summary = await heart.stop()
  const running = summary.health as HealthReport
  // The recorder's books after it closed its last file (it reports once more as it stops).
  const books = recorderOf(heart.report()) ?? final

  log('record: counting the frames in the files' + (camera ? ' (decoding the test camera\'s counters with the FFmpeg CLI)' : ' (ffprobe packets)'))
  // The recorder's own listing: oldest first, as the files follow each other.
  const files = await listSegments(root, 'main')
  let recorded = 0
  let bytes = 0
  let firstCounter: number | null = null
  const all: number[] = []
  for (const { path: file, bytes: size } of files) {
    bytes += size
    if (camera) {
      const counters = await decodedCounters(file, camera)
      firstCounter ??= counters[0] ?? null
      all.push(...counters)
      recorded += counters.length
    } else {
      recorded += await packetCount(file)
    }
  }
  const gaps = camera ? counterGaps(all, camera.loopFrames) : null
  const leadIn = leadInFrames(leadInEstimate, firstCounter, camera?.loopFrames ?? null, summary.published - recorded)
  // The recording's length from its frames at the camera's rate (the test camera's is in its URL).
  const fps = nominalFps(source) ?? summary.frames_per_s
  const recordedSeconds = fps > 0 ? recorded / fps : 0
  const ratios = recordRatios({ published: summary.published, recorded, leadIn, bytes, seconds: recordedSeconds })
  const threadCpu = cpuShare(threads0, threads1, threadSeconds)

  const results: BenchReport['results'] = {
    frames: {
      published: summary.published,
      lead_in_before_first_keyframe: leadIn,
      recorded,
      recorder_counted: books?.frames_total ?? null,
      recorder_bytes_counted: books?.bytes_total ?? null,
      gaps: gaps?.gaps ?? null,
      missing_in_gaps: gaps?.missing ?? null,
      counted_by: camera ? 'decoded frame counters' : 'ffprobe packets',
    },
    recorder: {
      cpu_percent_proc: threadCpu === null ? null : round(threadCpu, 2),
      cpu_percent_health_p50: cpuSamples.length ? round(median(cpuSamples), 2) : null,
      cpu_percent_health_p99: cpuSamples.length ? round(percentile(cpuSamples, 99), 2) : null,
      segments: files.length,
      dropped_recorder_slow: books?.dropped.recorder_slow ?? null,
      dropped_recorder_paused: books?.dropped.recorder_paused ?? null,
      state_at_end: final?.state ?? null,
    },
    storage: {
      bytes,
      recorded_seconds: round(recordedSeconds, 1),
      mb_per_hour: round(ratios.mb_per_hour, 1),
      gb_per_day: round(ratios.gb_per_day, 2),
      mbit_per_s: round((ratios.mb_per_hour * 8) / 3600, 2),
    },
    run: {
      source: shown,
      seconds,
      frames_per_s: round(summary.frames_per_s, 2),
      process_cpu_percent: round(summary.cpu.percent_of_one_core, 1),
      status: running.status,
      reasons: running.reasons.join('; ') || null,
    },
  }
  const report: BenchReport = {
    scope: 'record',
    machine: { ...machine(), load_average_start: loadStart, load_average_end: loadAverage() },
    results,
    ratios: {
      recorded_of_published: round(ratios.recorded_of_published, 5),
      recorded_of_published_after_start: round(ratios.recorded_of_published_after_start, 5),
    },
  }
  // One figure a line, a section a table (the sections share no columns); long texts (health's reasons) after it.
  for (const [name, figures] of Object.entries(results)) {
    const entries = Object.entries(figures)
    const isLong = (v: unknown): boolean => typeof v === 'string' && v.length > 60
    log(table(Object.fromEntries(entries.filter(([, v]) => !isLong(v)).map(([key, value]) => [key, { [name]: value }]))))
    for (const [key, value] of entries.filter(([, v]) => isLong(v))) log(`${key}: ${String(value)}`)
    log('')
  }
  log(`record: recorded / published ${(ratios.recorded_of_published * 100).toFixed(3)} % (${(ratios.recorded_of_published_after_start * 100).toFixed(3)} % of what was published after the recorder's first keyframe; goal >= 99.9 %)`)
  await writeReport(report, options.json)
  if (!options.dir) rmSync(work, { recursive: true, force: true })
  else rmSync(configFile, { force: true })
  return report
}

/** CPU ms of the recorder's thread(s) by thread id: heart names a worker's thread after its service. */
function recorderThreadMs(threads: readonly { tid: number; name: string; cpuMs: number }[]): Map<number, number> {
  return new Map(threads.filter((t) => t.name === RECORDER).map((t) => [t.tid, t.cpuMs]))
}

/** Per cent of one core the recorder thread used between two readings (a restarted thread counts from 0). */
function cpuShare(before: Map<number, number>, after: Map<number, number>, seconds: number): number | null {
  if (after.size === 0) return null
  let used = 0
  for (const [tid, ms] of after) used += ms - (before.get(tid) ?? 0)
  return used / (seconds * 10)
}
