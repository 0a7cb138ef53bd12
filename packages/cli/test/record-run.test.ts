// `heart run` with recording on, end to end with real parts: the built-in
// test camera (H.264 through the real demuxer), the packet ring, the
// recorder worker and FFmpeg's muxer; judged by ffprobe / ffmpeg, which read
// the frame counter the test camera draws into every picture, so a gap
// between segments or a lost frame shows as a missing number.
import t from 'tap'
import { execFile, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { silentLogger } from '@heart/kernel'
import { waitFor } from '@heart/telemetry/testing'
import { runHeart } from '../src/run.js'

const run = promisify(execFile)
const bin = fileURLToPath(new URL('../src/bin.js', import.meta.url))
const WIDTH = 320
const HEIGHT = 240

/** The 16-bit counters of every frame of a file, decoded by the FFmpeg CLI (gray, top row only). */
async function counters(path: string): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, '-vf', 'crop=iw:2:0:0,format=gray', '-f', 'rawvideo', '-'], { encoding: 'buffer', maxBuffer: 1 << 28 })
  const frame = WIDTH * 2
  const block = Math.floor(WIDTH / 16)
  const out: number[] = []
  for (let at = 0; at + frame <= stdout.length; at += frame) {
    let value = 0
    for (let bit = 0; bit < 16; bit++) value = (value << 1) | (stdout[at + bit * block + (block >> 1)]! > 128 ? 1 : 0)
    out.push(value)
  }
  return out
}

async function keyframeFirst(path: string): Promise<boolean> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame', '-read_intervals', '%+#1', '-of', 'csv=p=0', path])
  return /^1/.test(stdout.trim())
}

async function formatTags(path: string): Promise<Record<string, string>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', path])
  return (JSON.parse(stdout) as { format: { tags?: Record<string, string> } }).format.tags ?? {}
}

function segmentFiles(root: string): string[] {
  const camera = join(root, 'main')
  if (!existsSync(camera)) return []
  return readdirSync(camera)
    .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))
    .sort()
    .flatMap((d) => readdirSync(join(camera, d)).filter((f) => f.endsWith('.mp4')).sort().map((f) => join(camera, d, f)))
}

function recordConfig(dir: string, extra = ''): string {
  const file = join(dir, 'heart.yaml')
  writeFileSync(file, [
    `source: "testsrc://?size=${WIDTH}x${HEIGHT}&fps=30"`,
    'http: { port: 0 }',
    'thermal: { enabled: false }',
    'consumers: []',
    'record:',
    '  enabled: true',
    '  dir: rec',
    '  segmentSeconds: 2',
    '  fragmentSeconds: 0.5',
    '  preSeconds: 1',
    '  postSeconds: 1',
    '  retain: { minFreeMb: 0 }',
    extra,
    '',
  ].join('\n'))
  return file
}

t.test('segments of the test camera hold every frame in order, with no gap between segments, each starting at a keyframe', async (t) => {
  const dir = t.testdir({})
  const heart = await runHeart({ configFile: recordConfig(dir), status: false, logger: silentLogger })
  let stopped = false
  t.teardown(() => (stopped ? undefined : heart.stop()))
  const base = `http://127.0.0.1:${heart.http.port}`
  await waitFor(() => segmentFiles(join(dir, 'rec')).length >= 3, 'three segments', () => heart.report())
  const clip = await fetch(`${base}/cameras/main/clips`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ preSeconds: 1, postSeconds: 1 }) })
  t.equal(clip.status, 202, 'a clip was asked for')
  const clipAnswer = (await clip.json()) as { path: string; url: string; event_capture_ts_ns: string }
  await waitFor(() => (heart.report() as unknown as { recorder?: { clips_total: number } }).recorder?.clips_total === 1, 'the clip to start')
  await new Promise((r) => setTimeout(r, 2500))
  const health = heart.report() as unknown as { recorder: { state: string; frames_total: number; dropped: Record<string, number> } }
  t.equal(health.recorder.state, 'recording', 'health says recording')
  const listing = (await (await fetch(`${base}/cameras/main/recordings`)).json()) as { recordings: { path: string; url: string; frames: number; bytes: number; start: string; end: string; recording: boolean }[] }
  const summary = await heart.stop()
  stopped = true

  const files = segmentFiles(join(dir, 'rec'))
  t.ok(files.length >= 3, `${files.length} segment files`)
  const all: number[] = []
  for (const file of files) {
    const frames = await counters(file)
    t.ok(frames.length > 0, `${file.split('/').slice(-2).join('/')}: ${frames.length} frames decoded by FFmpeg`)
    t.ok(await keyframeFirst(file), 'and its first frame is a keyframe')
    all.push(...frames)
  }
  // The test camera loops its clip, so the counter restarts at 0; otherwise each frame is the one after the last.
  const gaps = all.slice(1).map((v, i) => [all[i]!, v] as const).filter(([a, b]) => b !== a + 1 && b !== 0)
  t.same(gaps, [], 'every recorded frame follows the one before it, across segment boundaries')
  t.ok(all.length >= summary.published - 35, `recorded ${all.length} of ${summary.published} published (the recorder starts at the first keyframe it sees)`)
  t.equal(health.recorder.dropped.recorder_slow, 0, 'the recorder lost nothing')

  const listed = listing.recordings.filter((r) => !r.recording)
  t.ok(listed.length >= 2, 'GET /cameras/main/recordings lists the closed segments')
  for (const r of listed) t.equal(r.frames, (await counters(r.path)).length, `${r.url}: listed frames = decoded frames`)
  t.ok(Date.parse(listed[0]!.end) > Date.parse(listed[0]!.start), 'a segment ends after it starts')

  const tags = await formatTags(files[0]!)
  t.match(tags, { heart_camera: 'main', heart_capture_ts_ns: /^\d+$/ }, 'the file says where it sits on the monotonic clock')

  t.ok(existsSync(clipAnswer.path), 'the clip file exists')
  t.ok(await keyframeFirst(clipAnswer.path), 'the clip starts at a keyframe')
  const clipTags = await formatTags(clipAnswer.path)
  const clipStart = BigInt(clipTags.heart_capture_ts_ns!)
  t.ok(clipStart <= BigInt(clipAnswer.event_capture_ts_ns) - 1_000_000_000n, 'at or before event - preSeconds')
  const clipFrames = await counters(clipAnswer.path)
  t.ok(clipFrames.length >= 55, `the clip covers pre + post (${clipFrames.length} frames at 30 fps)`)
})

t.test('recordings are served with Range, and bad requests are named', async (t) => {
  const dir = t.testdir({})
  const heart = await runHeart({ configFile: recordConfig(dir), status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  const base = `http://127.0.0.1:${heart.http.port}`
  await waitFor(() => segmentFiles(join(dir, 'rec')).length >= 2, 'two segments')
  const listing = (await (await fetch(`${base}/cameras/main/recordings`)).json()) as { recordings: { url: string; bytes: number }[] }
  const first = listing.recordings[0]!
  const part = await fetch(`${base}${first.url}`, { headers: { range: 'bytes=0-99' } })
  t.equal(part.status, 206)
  t.equal((await part.arrayBuffer()).byteLength, 100)
  t.match(part.headers.get('content-range') ?? '', /^bytes 0-99\/\d+$/)
  const whole = await fetch(`${base}${first.url}`)
  t.equal(whole.status, 200)
  t.equal(whole.headers.get('accept-ranges'), 'bytes')
  t.equal((await fetch(`${base}/cameras/main/recordings/..%2F..%2Fheart.yaml`)).status, 404, 'no way out of the camera folder')
  t.equal((await fetch(`${base}/cameras/main/recordings?from=yesterday`)).status, 400, 'a time that is not one is named')
  const future = (await (await fetch(`${base}/cameras/main/recordings?from=${Date.now() + 3600_000}`)).json()) as { recordings: unknown[] }
  t.same(future.recordings, [], 'from in the future: nothing')
  const bad = await fetch(`${base}/cameras/main/clips`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ preSeconds: -1, after: 3 }) })
  t.equal(bad.status, 400)
  t.match(((await bad.json()) as { error: string }).error, /after: unknown field.*preSeconds: got -1/)
})

/** The Y planes of a file's frames as FFmpeg decodes them, by the frame counter they show. */
async function lumaByCounter(path: string): Promise<Map<number, Buffer>> {
  // yuv420p as decoded (a conversion to gray would rescale limited-range luma), then only its Y plane.
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], { encoding: 'buffer', maxBuffer: 1 << 28 })
  const size = WIDTH * HEIGHT
  const out = new Map<number, Buffer>()
  for (let at = 0; at + size * 1.5 <= stdout.length; at += size * 1.5) {
    const y = stdout.subarray(at, at + size)
    out.set(counterOf(y), y)
  }
  return out
}

function counterOf(y: Uint8Array): number {
  const block = Math.floor(WIDTH / 16)
  let value = 0
  for (let bit = 0; bit < 16; bit++) value = (value << 1) | (y[bit * block + (block >> 1)]! > 128 ? 1 : 0)
  return value
}

t.test('a raw capture writes the next N decoded frames as Y4M, pixel for pixel what the ring held', async (t) => {
  const dir = t.testdir({})
  const heart = await runHeart({ configFile: recordConfig(dir), status: false, logger: silentLogger })
  let stopped = false
  t.teardown(() => (stopped ? undefined : heart.stop()))
  const base = `http://127.0.0.1:${heart.http.port}`
  await waitFor(() => segmentFiles(join(dir, 'rec')).length >= 1, 'recording to start')
  const post = (body: unknown): Promise<Response> => fetch(`${base}/cameras/main/capture`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const bad = await post({ frames: 0, format: 'png' })
  t.equal(bad.status, 400)
  t.match(((await bad.json()) as { error: string }).error, /frames: got 0, expected a whole number from 1 to 1800; format: got "png", allowed: y4m/)
  const answer = await post({ frames: 10, format: 'y4m' })
  t.equal(answer.status, 202)
  const { path, url } = (await answer.json()) as { path: string; url: string }
  t.equal((await post({ frames: 5 })).status, 409, 'one capture at a time')
  const frameBytes = 6 + WIDTH * HEIGHT * 1.5
  await waitFor(() => existsSync(path) && statSync(path).size >= frameBytes * 10, 'the capture to be written')
  await new Promise((r) => setTimeout(r, 2500)) // and the segment holding those frames to be closed
  const served = await fetch(`${base}${url}`)
  t.equal(served.status, 200, 'the capture is served beside the recordings')
  await served.arrayBuffer()
  await heart.stop()
  stopped = true

  const file = readFileSync(path)
  const headerEnd = file.indexOf(0x0a)
  t.match(file.subarray(0, headerEnd).toString(), /^YUV4MPEG2 W320 H240 F30:1 Ip A1:1 C420jpeg$/, 'a Y4M header any reader understands')
  const decoded = new Map<number, Buffer>()
  for (const segment of segmentFiles(join(dir, 'rec'))) for (const [k, v] of await lumaByCounter(segment)) decoded.set(k, v)
  const counters: number[] = []
  let equal = 0
  for (let at = headerEnd + 1; at < file.length; at += frameBytes) {
    t.equal(file.subarray(at, at + 6).toString(), 'FRAME\n')
    const y = file.subarray(at + 6, at + 6 + WIDTH * HEIGHT)
    const counter = counterOf(y)
    counters.push(counter)
    if (decoded.get(counter)?.equals(y)) equal++
  }
  t.equal(counters.length, 10, 'ten frames')
  // The test camera loops its 2 s clip, so its counter wraps after 60 frames at 30 fps.
  const LOOP_FRAMES = 60
  t.same(counters, counters.map((_, i) => (counters[0]! + i) % LOOP_FRAMES), 'consecutive frames')
  t.equal(equal, 10, 'each Y plane equals the same frame decoded by the FFmpeg CLI from the recording', { found: decoded.size })
  // ffprobe (independent of our writer) reads the file too.
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'csv=p=0', path])
  t.equal(stdout.trim(), '320,240,10')
})

// The capture package's test servers are not exported; its compiled helpers are where tsc puts them.
type RtspSupport = typeof import('../../capture/dist/test/support/rtsp-server.js')
type MediaSupport = typeof import('../../capture/dist/test/support/media.js')
const captureSupport = (file: string): URL => new URL(`../../../capture/dist/test/support/${file}`, import.meta.url)

t.test('an RTSP camera (GStreamer server) and an HEVC camera are recorded with no gap between segments', async (t) => {
  const { startRtspServer } = (await import(captureSupport('rtsp-server.js').href)) as RtspSupport
  const { clip } = (await import(captureSupport('media.js').href)) as MediaSupport
  const server = await startRtspServer({ mounts: { '/cam': await clip({ codec: 'h264', width: 320, height: 240, fps: 30, seconds: 30 }) } })
  t.teardown(() => server.stop())
  for (const source of [server.url('/cam'), 'testsrc://?size=320x240&fps=30&codec=hevc']) {
    const dir = t.testdir({})
    writeFileSync(join(dir, 'heart.yaml'), readFileSync(recordConfig(dir), 'utf8').replace(/^source: .*$/m, `source: "${source}"`))
    const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), status: false, logger: silentLogger })
    await waitFor(() => segmentFiles(join(dir, 'rec')).length >= 3, `three segments of ${source}`, () => heart.report())
    const summary = await heart.stop()
    const files = segmentFiles(join(dir, 'rec'))
    let recorded = 0
    let previous: { startNs: bigint; frames: number } | null = null
    const interval = 1e9 / 30
    for (const file of files) {
      const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'csv=p=0', file])
      const [codec, frames] = stdout.trim().split(',')
      t.equal(codec, source.includes('hevc') ? 'hevc' : 'h264', `${file.split('/').pop()}: ${frames} ${codec} frames`)
      const startNs = BigInt((await formatTags(file)).heart_capture_ts_ns!)
      if (previous) {
        // The next file starts one frame after the last frame of the one before (capture times, within a frame of jitter).
        const expected = Number(startNs - previous.startNs) / interval
        t.ok(Math.abs(expected - previous.frames) < 1.6, `the next segment starts right after the ${previous.frames} frames of the one before (${expected.toFixed(2)} frame times later)`)
      }
      previous = { startNs, frames: Number(frames) }
      recorded += Number(frames)
    }
    t.ok(recorded >= summary.published - 31 && recorded <= summary.published, `recorded ${recorded} of ${summary.published} published frames`)
  }
})

t.test('motion events cut clips by themselves, each with its event beside it, and a long run of motion is cut into bounded clips', async (t) => {
  const dir = t.testdir({})
  const config = readFileSync(recordConfig(dir, '  on: [motion]\n  maxClipSeconds: 2'), 'utf8').replace('consumers: []', 'consumers: [{ name: movement_detector, kind: motion }]')
  writeFileSync(join(dir, 'heart.yaml'), config)
  const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), status: false, logger: silentLogger })
  let stopped = false
  t.teardown(() => (stopped ? undefined : heart.stop()))
  const clipsDir = join(dir, 'rec', 'main', 'clips')
  const clips = (): string[] => (existsSync(clipsDir) ? readdirSync(clipsDir).filter((f) => f.endsWith('.mp4')).sort() : [])
  // The test camera's box never stops moving: one clip is extended for maxClipSeconds, then the next starts.
  await waitFor(() => clips().length >= 2, 'two motion clips', () => heart.report())
  await new Promise((r) => setTimeout(r, 2500))
  await heart.stop()
  stopped = true
  const [first] = clips()
  const path = join(clipsDir, first!)
  t.match(first, /-motion-\d+\.mp4$/)
  const event = JSON.parse(readFileSync(path.replace(/\.mp4$/, '.json'), 'utf8')) as { reason: string; payload: { boxes: unknown[] } }
  t.equal(event.reason, 'motion')
  t.ok(event.payload.boxes.length > 0, 'the motion event (its boxes) is saved beside the clip')
  t.ok(await keyframeFirst(path), 'the clip starts at a keyframe')
  const frames = (await counters(path)).length
  // pre 1 s + up to 2 s of extension + post 1 s, plus up to a GOP (the test camera's is 1 s) before the pre-roll.
  // At least the pre-roll; at most pre + maxClipSeconds + post plus a GOP (how much of the extension lands
  // depends on how far the motion worker lags the camera on a loaded machine).
  t.ok(frames >= 30 && frames <= 30 * 5 + 2, `${frames} frames: bounded by pre + maxClipSeconds + post (+ a GOP)`)
})

t.test('kill -9 mid-segment: the file on disk plays, and the next start repairs it', async (t) => {
  const dir = t.testdir({})
  const env = { ...process.env }
  writeFileSync(join(dir, 'heart.yaml'), readFileSync(recordConfig(dir), 'utf8').replace('segmentSeconds: 2', 'segmentSeconds: 30'))
  const child = spawn(process.execPath, [bin, 'run', '--config', join(dir, 'heart.yaml')], { stdio: ['ignore', 'pipe', 'pipe'], env })
  t.teardown(() => void child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  await waitFor(() => segmentFiles(join(dir, 'rec')).some((f) => statSync(f).size > 60_000), 'a segment with a few fragments', () => output.slice(-1000))
  const exited = new Promise((resolve) => child.on('exit', resolve))
  child.kill('SIGKILL')
  await exited
  const [file] = segmentFiles(join(dir, 'rec'))
  const before = (await counters(file!)).length
  t.ok(before > 0, `after kill -9 the file plays: ${before} frames`)

  const again = spawn(process.execPath, [bin, 'run', '--config', join(dir, 'heart.yaml')], { stdio: ['ignore', 'pipe', 'pipe'], env })
  t.teardown(() => void again.kill('SIGKILL'))
  let log = ''
  again.stdout.on('data', (d: Buffer) => (log += d.toString()))
  again.stderr.on('data', (d: Buffer) => (log += d.toString()))
  const code = new Promise((resolve) => again.on('exit', resolve))
  // Until the restart has written a fragment of its own (a fixed time is too short on a loaded machine).
  await waitFor(() => segmentFiles(join(dir, 'rec')).length >= 2 && statSync(segmentFiles(join(dir, 'rec')).at(-1)!).size > 10_000, 'the restart to record', () => log.slice(-1000))
  again.kill('SIGTERM')
  t.equal(await code, 0, 'the restart ran and stopped cleanly', { log: log.slice(-2000) })
  const whole = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file!]).toString().trim()
  t.ok(Number(whole) > 0 && Number(whole) <= before, `the killed file holds only whole fragments after the restart (${whole} frames)`)
  t.ok(segmentFiles(join(dir, 'rec')).length >= 2, 'and the restart recorded into a new file')
})

t.test('a full disk pauses recording (health yellow, the camera streams on) and it resumes when space returns', async (t) => {
  const dir = t.testdir({})
  // The mount point lives outside tap's fixture folder: tap removes that folder, and a mounted one cannot be.
  const mount = mkdtempSync(join(tmpdir(), 'heart-small-disk-'))
  let mounted = false
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', mount], { stdio: 'ignore' })
    mounted = true
  } catch {
    // No privilege to mount: the same pause is reached by the free-space rule below (retain.minFreeMb).
  }
  writeFileSync(join(dir, 'heart.yaml'), readFileSync(recordConfig(dir), 'utf8').replace('dir: rec', `dir: ${mount}`).replace('segmentSeconds: 2', 'segmentSeconds: 60').replace('minFreeMb: 0', mounted ? 'minFreeMb: 0' : 'minFreeMb: 100000000'))
  const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), status: false, logger: silentLogger })
  // One teardown, in order: heart lets go of the files, then the file system goes, then the folder.
  t.teardown(async () => {
    await heart.stop()
    if (mounted) execFileSync('umount', [mount])
    rmSync(mount, { recursive: true, force: true })
  })
  type Report = { status: string; reasons: string[]; camera: { state: string }; recorder: { state: string; reason: string } }
  const report = (): Report => heart.report() as unknown as Report
  await waitFor(() => report().recorder?.state === 'paused_disk_full', 'the recorder to pause', () => report().recorder, 60_000)
  t.comment(mounted ? 'a 200 KiB tmpfs filled up (ENOSPC)' : 'mount was not permitted: the free-space rule paused recording')
  t.not(report().status, 'green', 'health is not green')
  t.ok(report().reasons.some((r) => /recorder main/.test(r)), 'and names the recorder')
  t.equal(report().camera.state, 'streaming', 'the camera streams on')
  const published = heart.capture.ring.published()
  await new Promise((r) => setTimeout(r, 1000))
  t.ok(heart.capture.ring.published() > published + 20n, 'frames keep coming while recording is paused')
  const files = segmentFiles(mount)
  for (const f of files) t.ok((await counters(f)).length > 0, `${f.split('/').pop()} is whole and plays`)
  if (!mounted) return
  // Space returns (a bigger file system under the same folder): recording goes on in a new file.
  execFileSync('mount', ['-o', 'remount,size=40m', mount])
  await waitFor(() => report().recorder.state === 'recording', 'recording to resume', () => report().recorder, 30_000)
  await waitFor(() => segmentFiles(mount).length > files.length, 'a new segment after the pause', () => report().recorder, 30_000)
  t.pass('recording resumed in a new file once space returned')
})
