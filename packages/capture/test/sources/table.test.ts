// The URL table: every option of every source kind goes through validation
// AND a real open (the test camera, synthetic frames, files made with FFmpeg,
// the GStreamer RTSP server over TCP, UDP and TLS), so whatever the grammar
// accepts, the native side opens. A kind or option without a row here fails
// the test: a new option cannot skip the walk.
import t from 'tap'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Source } from '@heart/native'
import { nativeOpener } from '../../src/native-source.js'
import { openSynthetic } from '../../src/synthetic-source.js'
import { nativeSpec, parseSource, SOURCE_KINDS } from '../../src/sources/registry.js'
import type { OpenedSource, OpenRequest, SourceInfo } from '../../src/decoder.js'
import type { SourceSpec } from '../../src/types.js'
import { clip } from '../support/media.js'
import { freePort, startRtspServer, type RtspServer } from '../support/rtsp-server.js'

interface Row {
  /** The option(s) of `kind` this row walks. */
  kind: string
  options: string[]
  url: () => string
  /** What the opened source must report. */
  check(info: SourceInfo, spec: SourceSpec, frames: FrameWalk): void
  /** Frames to read (default 1). */
  read?: number
}

interface FrameWalk {
  /** Frames read before the source ended (null: it did not end). */
  endedAfter: number | null
  elapsedMs: number
}

const dir = mkdtempSync(join(tmpdir(), 'heart-url-table-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
// The test camera's clips go to a private cache so the test never depends on (or fills) ~/.cache.
process.env.HEART_CACHE_DIR = join(dir, 'cache')

let server: RtspServer
let tlsServer: RtspServer
let shortClip: string
let udpPort: number
let udpSender: ChildProcess | undefined

t.before(async () => {
  shortClip = await clip({ codec: 'h264', width: 320, height: 240, fps: 30, seconds: 1 })
  const pem = join(dir, 'server.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' })
  execFileSync('sh', ['-c', `cat "${join(dir, 'c.pem')}" "${join(dir, 'k.pem')}" > "${pem}"`])
  server = await startRtspServer({ mounts: { '/cam': shortClip } })
  tlsServer = await startRtspServer({ mounts: { '/cam': shortClip }, tls: pem })
  // An encoder pushing MPEG-TS over UDP at real time, like a drone downlink (stopped by its PID below).
  udpPort = await freePort()
  udpSender = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', shortClip, '-c', 'copy', '-f', 'mpegts', `udp://127.0.0.1:${udpPort}?pkt_size=1316`], { stdio: 'ignore' })
})
t.teardown(async () => {
  udpSender?.kill('SIGTERM')
  await server?.stop()
  await tlsServer?.stop()
})

const size = (w: number, h: number) => (info: SourceInfo) => {
  t.equal(info.width, w, `width ${w}`)
  t.equal(info.height, h, `height ${h}`)
}

const ROWS: Row[] = [
  { kind: 'testsrc', options: [], url: () => 'testsrc://?size=64x48', check: (i) => t.match(i, { codec: 'h264', fps: 30 }) },
  { kind: 'testsrc', options: ['size'], url: () => 'testsrc://?size=32x32', check: size(32, 32) },
  { kind: 'testsrc', options: ['fps'], url: () => 'testsrc://?size=64x48&fps=29.97', check: (i) => t.ok(Math.abs(i.fps! - 29.97) < 0.01, `fps ${i.fps}`) },
  { kind: 'testsrc', options: ['codec'], url: () => 'testsrc://?size=64x48&codec=hevc', check: (i) => t.equal(i.codec, 'hevc') },
  { kind: 'testsrc', options: ['codec'], url: () => 'testsrc://?size=64x48&codec=h265', check: (i) => t.equal(i.codec, 'hevc') },
  {
    kind: 'testsrc', options: ['seconds'], url: () => 'testsrc://?size=64x48&fps=10&seconds=3', read: 35,
    check: (_i, _s, w) => t.equal(w.endedAfter, null, 'a 3 s clip at 10 fps loops past its 30 frames'),
  },
  { kind: 'synthetic', options: ['size', 'fps'], url: () => 'synthetic://?size=64x48&fps=100', check: (i) => t.match(i, { width: 64, height: 48, fps: 100 }) },
  {
    kind: 'file', options: ['loop'], url: () => `file://${shortClip}?loop=1`, read: 45,
    check: (_i, _s, w) => t.equal(w.endedAfter, null, 'a 30-frame clip looped gives 45 frames'),
  },
  {
    kind: 'file', options: [], url: () => `file://${shortClip}?loop=0`, read: 45,
    check: (_i, _s, w) => t.equal(w.endedAfter, 30, 'without loop the clip ends after its 30 frames'),
  },
  {
    kind: 'file', options: ['realtime'], url: () => `file://${shortClip}?realtime=1`, read: 10,
    check: (_i, _s, w) => t.ok(w.elapsedMs >= 200, `10 frames at 30 fps paced: ${Math.round(w.elapsedMs)} ms`),
  },
  { kind: 'rtsp', options: ['transport'], url: () => `${server.url('/cam')}?transport=tcp`, check: size(320, 240) },
  { kind: 'rtsp', options: ['transport'], url: () => `${server.url('/cam')}?transport=udp`, check: size(320, 240) },
  { kind: 'rtsp', options: ['transport', 'reorderMs'], url: () => `${server.url('/cam')}?transport=udp&reorderMs=20`, check: (i, s) => { size(320, 240)(i); t.match(s, { kind: 'rtsp', transport: 'udp', reorderMs: 20 }) } },
  { kind: 'rtsp', options: [], url: () => `${server.url('/cam')}?channel=1&subtype=0`, check: size(320, 240) },
  { kind: 'udp', options: ['format'], url: () => `udp://127.0.0.1:${udpPort}?format=mpegts`, read: 5, check: size(320, 240) },
  { kind: 'rtsp', options: [], url: () => tlsServer.url('/cam'), check: (i, s) => { size(320, 240)(i); t.match(s, { kind: 'rtsp', secure: true }) } },
]

function request(spec: SourceSpec): OpenRequest {
  return { spec, pixFmt: 'yuv420p', expect: { maxSize: { width: 1920, height: 1080 } }, timeoutMs: 10_000, decodeThreads: 1, decoder: 'software' }
}

async function walk(src: OpenedSource, frames: number): Promise<FrameWalk> {
  const dst = new Uint8Array(src.info.frameBytes ?? 1920 * 1080 * 3)
  const ac = new AbortController()
  const t0 = performance.now()
  for (let n = 0; n < frames; n++) {
    const f = await src.read(dst, ac.signal)
    if (f === null) return { endedAfter: n, elapsedMs: performance.now() - t0 }
  }
  return { endedAfter: null, elapsedMs: performance.now() - t0 }
}

// V4L2 cannot be opened for real here (no camera): its options are walked up to the native side, below.
const V4L2_URL = 'v4l2:///dev/video-heart-missing?format=mjpeg&size=1280x720&fps=30'

t.test('every option of every kind has a row', async (t) => {
  const walked = (kind: string, option?: string): boolean =>
    kind === 'v4l2' ? option === undefined || new URL(V4L2_URL).searchParams.has(option) : ROWS.some((r) => r.kind === kind && (option === undefined || r.options.includes(option)))
  for (const kind of SOURCE_KINDS) {
    t.ok(walked(kind.kind), `${kind.kind} has rows`)
    for (const option of kind.options) t.ok(walked(kind.kind, option), `${kind.kind}: ${option} is walked`)
  }
})

t.test('every row: accepted by the grammar and opened for real', async (t) => {
  const open = await nativeOpener()
  for (const row of ROWS) {
    const url = row.url()
    await t.test(url.replace(/127\.0\.0\.1:\d+/, 'HOST').replace(dir, 'DIR').replace(/\/tmp\/[^?]*/, 'CLIP'), async (t) => {
      const spec = parseSource(url)
      t.equal(spec.kind, row.kind)
      const src = spec.kind === 'synthetic' ? await openSynthetic(request(spec), new AbortController().signal) : await open(request(spec), new AbortController().signal)
      try {
        const w = await walk(src, row.read ?? 1)
        row.check(src.info, spec, w)
      } finally {
        src.close()
      }
    })
  }
})

t.test('v4l2 (no camera on this machine): every option reaches the native side, which fails for a reason of the camera', async (t) => {
  const spec = parseSource(V4L2_URL)
  t.match(nativeSpec(spec), { kind: 'v4l2', target: '/dev/video-heart-missing', format: 'mjpeg', width: 1280, height: 720, fps: 30 })
  const err = await Source.open(nativeSpec(spec)!, { timeoutMs: 2000 }).then(() => null, (e: { code?: string }) => e)
  t.ok(err, 'a missing device does not open')
  t.notOk(err?.code === 'INVALID_ARGUMENT', `the native side took the spec (failed with ${err?.code}, not a URL error)`)
})

t.test('udp: the listening address is explicit and binds only there', async (t) => {
  const bad = (url: string): string => {
    try {
      parseSource(url)
    } catch (error) {
      return (error as Error).message
    }
    throw new Error(`${url} was accepted`)
  }
  t.match(bad('udp://:5600'), /udp:\/\/HOST:PORT.*0\.0\.0\.0:5600 \(every interface\)/)
  t.match(bad('udp://127.0.0.1:70000'), /udp:\/\/HOST:PORT/)
  t.match(bad('udp://127.0.0.1:5600?format=rtp'), /format=mpegts, format=h264 or format=hevc/)
  t.match(bad('udp://127.0.0.1:5600?fromat=h264'), /Did you mean "format"/)
  t.match(nativeSpec(parseSource('udp://127.0.0.1:5600')), { kind: 'stream', inputFormat: 'mpegts', avOptions: { localaddr: '127.0.0.1', overrun_nonfatal: '1' } })
  t.notOk('localaddr' in nativeSpec(parseSource('udp://239.0.0.1:5600?format=h264'))!.avOptions!, 'a multicast group is joined, not bound as a local address')
  t.match(nativeSpec(parseSource('udp://[::1]:5600')), { target: 'udp://[::1]:5600' })
})
