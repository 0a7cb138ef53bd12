// `heart bench decode`: decode throughput and CPU per frame, heart beside the
// FFmpeg CLI and the usual FFmpeg-pipe-into-Node approach, on the same
// 1080p60 H.264 and H.265 clips, in one run. Runs alternate (heart, CLI, pipe,
// heart without consumers; three times per codec) so a change in machine load hits all three alike,
// and each figure is the median of its three runs.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { homedir, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { FrameRing, frameLayout } from '@heart/ring'
import { loadNative } from '@heart/kernel'
import { UsageError } from '@heart/cli'
import { machine, median, round, table, writeReport, type BenchReport } from './report.js'

const CONSUMERS = 4
// Deep enough that a consumer descheduled for a few frames on a busy 2-core machine still sees every frame.
const DEPTH = 8
const WIDTH = 1920
const HEIGHT = 1080
const FPS = 60
const BITRATE = '8M'
const layout = frameLayout(WIDTH, HEIGHT, 'yuv420p')

export type Codec = 'h264' | 'hevc'

export interface DecodeBenchOptions {
  /** Clip length in seconds (default 10): 600 frames at 60 fps. */
  seconds?: number
  /** Alternating rounds per codec (default 3). */
  runs?: number
  codecs?: Codec[]
  /** A file:// URL (or a path) to decode instead of the generated clips; --codecs and --seconds then do not apply. */
  source?: string
  json?: string
  log?: (line: string) => void
}

export interface RunFigures {
  frames: number
  wallMs: number
  cpuMs: number
}

interface ClipFile {
  path: string
  frames: number
}

function cacheDir(): string {
  const dir = join(process.env.HEART_CACHE_DIR ?? join(homedir(), '.cache', 'heart'), 'bench')
  mkdirSync(dir, { recursive: true })
  return dir
}

/** How a generated bench clip looks: testsrc2 as is, or with temporal noise like a real sensor's (camera-like). */
export interface ClipLook {
  /** FFmpeg's noise filter strength (alls), 0: none. Noise makes every frame differ like a camera's, so the encoder spends its bits everywhere. */
  noise?: number
  /** Target and maximum bit rate, FFmpeg's notation (default 8M). */
  bitrate?: string
}

/** The FFmpeg CLI arguments that encode a 1080p60 bench clip (documented in docs/bench.md, so users can make the same). */
export function clipArgs(codec: Codec, seconds: number, out: string, look: ClipLook = {}): string[] {
  const bitrate = look.bitrate ?? BITRATE
  const codecArgs = codec === 'h264'
    ? ['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0']
    : ['-c:v', 'libx265', '-preset', 'veryfast', '-tag:v', 'hvc1', '-x265-params', 'log-level=error:bframes=0']
  const noise = look.noise ? `,noise=alls=${look.noise}:allf=t` : ''
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=${FPS}${noise}`, '-t', String(seconds),
    ...codecArgs, '-g', String(FPS), '-b:v', bitrate, '-maxrate', bitrate, '-bufsize', bitrate, '-pix_fmt', 'yuv420p', out,
  ]
}

/**
 * A 1080p60 clip like an IP camera's (8 Mbit/s, a keyframe a second, no
 * B-frames), encoded once with the FFmpeg CLI and cached.
 */
export function benchClip(codec: Codec, seconds: number, look: ClipLook = {}): ClipFile {
  const noise = look.noise ? `-noise${look.noise}` : ''
  const path = join(cacheDir(), `decode-${codec}-${WIDTH}x${HEIGHT}-${FPS}fps-${seconds}s-${look.bitrate ?? BITRATE}${noise}.mp4`)
  if (!existsSync(path)) {
    const tmp = join(tmpdir(), `heart-bench-${process.pid}.mp4`)
    const r = spawnSync('ffmpeg', clipArgs(codec, seconds, tmp, look), { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`making the ${codec} bench clip failed (is ffmpeg with libx264/libx265 installed?): ${r.stderr || r.error}`)
    renameSync(tmp, path)
  }
  return { path, frames: countFrames(path) }
}

/**
 * The file a `--source` names: file:///path (query options are heart's and
 * ignored here) or a plain path. Other schemes are refused: these benches
 * decode a file from start to end (or loop it), which a camera cannot do.
 */
export function sourceFile(source: string, flag = '--source'): string {
  let path = source
  if (/^[a-z][a-z0-9+.-]*:/i.test(source)) {
    const url = URL.canParse(source) ? new URL(source) : null
    if (url?.protocol !== 'file:') throw new UsageError(`${flag}: "${source}" is not a file; give file:///path/to/clip.mp4 (or a path)`)
    path = decodeURIComponent(url.pathname)
  }
  if (!existsSync(path)) throw new UsageError(`${flag}: ${path} does not exist`)
  return path
}

/** The codec of a file's first video stream, as ffprobe names it (h264, hevc, ...). */
function probeCodec(path: string): string {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', path], { encoding: 'utf8' })
  const codec = r.stdout.trim()
  if (!codec) throw new UsageError(`--source: ${path} has no video stream ffprobe can read (${r.stderr.trim() || 'no output'})`)
  return codec
}

/** The video frames of a file, counted by ffprobe. */
export function countFrames(path: string): number {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', path], { encoding: 'utf8' })
  const frames = Number(probe.stdout.trim())
  if (!(frames > 0)) throw new Error(`ffprobe could not count the frames of ${path}: ${probe.stderr}`)
  return frames
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start)
  return (d.user + d.system) / 1000
}

/**
 * Writes every page of the ring once (each byte kept as it is) before the
 * clock starts: a fresh SharedArrayBuffer is mapped lazily, and the kernel
 * zeroing ~120 MB of slots on first use is start-up cost a camera pays once
 * per run, not per frame. Only called before any worker attaches.
 */
function prefault(buffer: SharedArrayBuffer): void {
  const bytes = new Uint8Array(buffer)
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = bytes[i]!
}

/**
 * heart: the native source reads the clip flat out straight into ring slots
 * and the frame is published to 4 worker consumers, each touching every 4 KiB
 * page of every frame in place. CPU is the whole process (decoder threads,
 * the libuv pool, the consumers).
 */
export interface HeartFigures extends RunFigures {
  /** Frames the consumer that got fewest got. */
  delivered: number
  /** Frames the consumer that lost most lost, and why ("consumer_1_slow=3"). */
  dropped: number
  dropReasons: string
}

export async function runHeart(clip: ClipFile, consumers = CONSUMERS): Promise<HeartFigures> {
  const ring = FrameRing.create({ slotBytes: layout.byteLength, maxConsumers: CONSUMERS, defaultDepth: DEPTH })
  prefault(ring.buffer)
  const producer = ring.producer()
  const workers = Array.from({ length: consumers }, (_, i) =>
    new Worker(new URL('./decode-worker.js', import.meta.url), { workerData: { ring: ring.buffer, name: `consumer_${i}`, depth: DEPTH } }))
  const exited = workers.map((w) => new Promise<{ frames: number }>((resolve, reject) => {
    w.on('message', (m: unknown) => { if (typeof m === 'object') resolve(m as { frames: number }) })
    w.once('error', reject)
  }))
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))))

  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const { Source } = await loadNative(['Source'])
  const source = await Source.open({ kind: 'file', target: clip.path, redacted: `file://${clip.path}`, realtime: false, loop: false }, { decoder: 'software' })
  if (source.info.byteLength > layout.byteLength) throw new Error(`the clip is larger than ${WIDTH}x${HEIGHT}`)
  let frames = 0
  for (;;) {
    const slot = producer.beginWrite()
    if (!slot) throw new Error('no free ring slot: the ring is sized too small for its consumers')
    const f = await source.readInto(slot.bytes).catch((e: { code?: string }) => e)
    if ('code' in f && f.code === 'END_OF_STREAM') {
      producer.abort(slot)
      break
    }
    if (!('seq' in f)) throw f
    producer.commit(slot, {
      captureTsNs: f.captureTsNs, decodeTsNs: f.decodeTsNs, width: source.info.width, height: source.info.height,
      pixFmt: 'yuv420p', planes: source.info.planes,
    })
    frames++
  }
  source.close()
  // The run ends when every consumer has taken the last frame.
  while (ring.consumerStats().some((c) => c.lag > 0 || c.leases > 0)) await new Promise((r) => setTimeout(r, 1))
  const wallMs = performance.now() - t0
  const cpuMs = cpuMsSince(cpu0)
  const books = ring.consumerStats()
  const delivered = books.length ? Math.min(...books.map((c) => Number(c.delivered))) : 0
  const lost = books.map((c) => Object.values(c.dropped).reduce((a, b) => a + Number(b), 0))
  const dropped = lost.length ? Math.max(...lost) : 0
  const dropReasons = books.flatMap((c) => Object.entries(c.dropped).filter(([, n]) => n > 0n).map(([r, n]) => `${r}=${n}`)).join(' ')
  for (const w of workers) w.postMessage('stop')
  await Promise.all(exited)
  await Promise.all(workers.map((w) => w.terminate()))
  return { frames, wallMs, cpuMs, delivered, dropped, dropReasons }
}

/**
 * Runs `args` under bash's `time`, which reports the child's own CPU (rusage
 * of waited-for children). The command's stderr is kept for its frame count.
 */
function timed(args: string[], stdout: 'ignore' | 'pipe'): { child: ReturnType<typeof spawn>; done: Promise<{ wallMs: number; cpuMs: number; stderr: string }> } {
  const base = join(tmpdir(), `heart-bench-${process.pid}-${Math.random().toString(36).slice(2)}`)
  const timeFile = `${base}.time`
  const errFile = `${base}.err`
  const t0 = performance.now()
  const child = spawn('bash', ['-c', 'TIMEFORMAT="%3U %3S"; { time "$@" 2>"$HEART_ERR_FILE"; } 2>"$HEART_TIME_FILE"', 'bench', ...args], {
    env: { ...process.env, HEART_TIME_FILE: timeFile, HEART_ERR_FILE: errFile },
    stdio: ['ignore', stdout, 'inherit'],
  })
  const done = new Promise<{ wallMs: number; cpuMs: number; stderr: string }>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      const wallMs = performance.now() - t0
      try {
        const stderr = existsSync(errFile) ? readFileSync(errFile, 'utf8') : ''
        if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`)
        const [user, sys] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number)
        resolve({ wallMs, cpuMs: (user! + sys!) * 1000, stderr })
      } catch (err) {
        reject(err)
      } finally {
        rmSync(timeFile, { force: true })
        rmSync(errFile, { force: true })
      }
    })
  })
  return { child, done }
}

/** The FFmpeg CLI decoding to the null muxer: the decoder alone, frames never leave FFmpeg. */
export async function runCli(clip: ClipFile): Promise<RunFigures> {
  const { done } = timed(['ffmpeg', '-hide_banner', '-nostdin', '-i', clip.path, '-f', 'null', '-'], 'ignore')
  const { wallMs, cpuMs, stderr } = await done
  // The last progress line says how many frames went through (stats print twice a second: negligible).
  const counted = [...stderr.matchAll(/frame=\s*(\d+)/g)].at(-1)?.[1]
  if (counted === undefined) throw new Error(`the FFmpeg CLI printed no frame count: ${stderr.slice(-2000)}`)
  return { frames: Number(counted), wallMs, cpuMs }
}

/**
 * The usual approach: FFmpeg decodes to raw yuv420p on stdout, Node
 * reassembles each frame from the pipe's chunks into one buffer (a copy)
 * and touches every 4 KiB page. CPU is FFmpeg's plus this process's.
 */
export async function runPipe(clip: ClipFile): Promise<RunFigures> {
  const frameBytes = (WIDTH * HEIGHT * 3) / 2
  const frame = Buffer.allocUnsafe(frameBytes)
  let filled = 0
  let frames = 0
  let checksum = 0
  const cpu0 = process.cpuUsage()
  const { child, done } = timed(['ffmpeg', '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-i', clip.path, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], 'pipe')
  child.stdout!.on('data', (chunk: Buffer) => {
    let at = 0
    while (at < chunk.length) {
      const n = Math.min(frameBytes - filled, chunk.length - at)
      chunk.copy(frame, filled, at, at + n)
      filled += n
      at += n
      if (filled === frameBytes) {
        for (let i = 0; i < frameBytes; i += 4096) checksum = (checksum + frame[i]!) | 0
        frames++
        filled = 0
      }
    }
  })
  const { wallMs, cpuMs } = await done
  return { frames, wallMs, cpuMs: cpuMs + cpuMsSince(cpu0) }
}

// heart_no_consumers is heart with nobody attached to the ring: the
// difference to heart is what the four consumers cost (waking, touching).
type Peer = 'heart' | 'ffmpeg_cli' | 'ffmpeg_pipe' | 'heart_no_consumers'
const PEERS: Peer[] = ['heart', 'ffmpeg_cli', 'ffmpeg_pipe', 'heart_no_consumers']

function loadAverage(): number[] {
  return loadavg().map((x) => round(x, 2))
}

export async function benchDecode(options: DecodeBenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const seconds = options.seconds ?? 10
  const runs = options.runs ?? 3
  const codecs = options.codecs ?? ['h264', 'hevc']
  const results: BenchReport['results'] = {}
  const ratios: BenchReport['ratios'] = {}
  const loadStart = loadAverage()
  const given = options.source === undefined ? null : sourceFile(options.source)
  const clips = given ? [{ codec: probeCodec(given), clip: { path: given, frames: countFrames(given) } }] : codecs.map((codec) => ({ codec, clip: benchClip(codec, seconds) }))
  for (const { codec, clip } of clips) {
    log(`${codec}: ${clip.path} (${clip.frames} frames); load average ${loadAverage().join(' ')}`)
    const figures: Record<Peer, RunFigures[]> = { heart: [], ffmpeg_cli: [], ffmpeg_pipe: [], heart_no_consumers: [] }
    const heartExtra: HeartFigures[] = []
    for (let run = 0; run < runs; run++) {
      const h = await runHeart(clip)
      figures.heart.push(h)
      heartExtra.push(h)
      figures.ffmpeg_cli.push(await runCli(clip))
      figures.ffmpeg_pipe.push(await runPipe(clip))
      figures.heart_no_consumers.push(await runHeart(clip, 0))
      const fps = (f: RunFigures): string => ((f.frames / f.wallMs) * 1000).toFixed(0)
      log(`  run ${run + 1}: heart ${fps(h)} fps, cli ${fps(figures.ffmpeg_cli.at(-1)!)} fps, pipe ${fps(figures.ffmpeg_pipe.at(-1)!)} fps; load ${loadAverage().join(' ')}`)
    }
    const suffix = codec === 'h264' ? '' : `_${codec}`
    for (const peer of PEERS) {
      const fpsRuns = figures[peer].map((f) => (f.frames / f.wallMs) * 1000)
      const cpuRuns = figures[peer].map((f) => f.cpuMs / f.frames)
      results[peer + suffix] = {
        codec,
        fps: round(median(fpsRuns), 1),
        cpu_ms_per_frame: round(median(cpuRuns), 3),
        frames: figures[peer][0]!.frames,
        fps_runs: fpsRuns.map((x) => x.toFixed(1)).join(' '),
        cpu_ms_per_frame_runs: cpuRuns.map((x) => x.toFixed(3)).join(' '),
      }
    }
    const heart = results['heart' + suffix]!
    heart.consumers = CONSUMERS
    heart.consumer_delivered_min = Math.min(...heartExtra.map((e) => e.delivered))
    heart.consumer_dropped_max = Math.max(...heartExtra.map((e) => e.dropped))
    heart.consumer_drops = heartExtra.map((e, i) => `run ${i + 1}: ${e.dropReasons || 'none'}`).join('; ')
    const cli = results['ffmpeg_cli' + suffix]!
    const pipe = results['ffmpeg_pipe' + suffix]!
    const num = (v: unknown): number => v as number
    ratios['heart_fps_vs_cli' + suffix] = round(num(heart.fps) / num(cli.fps), 3)
    ratios['heart_cpu_vs_cli' + suffix] = round(num(heart.cpu_ms_per_frame) / num(cli.cpu_ms_per_frame), 3)
    ratios['pipe_fps_vs_cli' + suffix] = round(num(pipe.fps) / num(cli.fps), 3)
    ratios['pipe_cpu_vs_cli' + suffix] = round(num(pipe.cpu_ms_per_frame) / num(cli.cpu_ms_per_frame), 3)
    ratios['heart_fps_vs_pipe' + suffix] = round(num(heart.fps) / num(pipe.fps), 3)
    ratios['heart_no_consumers_cpu_vs_cli' + suffix] = round(num(results['heart_no_consumers' + suffix]!.cpu_ms_per_frame) / num(cli.cpu_ms_per_frame), 3)
  }
  const report: BenchReport = {
    scope: 'decode',
    machine: {
      ...machine(),
      load_average_start: loadStart.join(' '),
      load_average_end: loadAverage().join(' '),
      clip: given ?? `${WIDTH}x${HEIGHT} ${FPS} fps ${BITRATE}bit/s ${seconds} s, testsrc2, keyframe every second, no B-frames`,
      decoder_threads: 'FFmpeg default (auto) for all three',
      runs_per_peer: runs,
    },
    results,
    ratios,
  }
  log('')
  log(table(results))
  log('')
  log(Object.entries(ratios).map(([k, v]) => `${k} ${v}`).join('\n'))
  await writeReport(report, options.json)
  return report
}
