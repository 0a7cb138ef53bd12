// The capture worker against a real RTSP server (GStreamer) and the real
// native decoder: frames, health figures, AI-lock, decode errors, and the
// errors a misconfigured camera gives.
import t, { type Test } from 'tap'
import { FrameFlags } from '@heart/ring'
import { MetricsRegistry } from '@heart/telemetry'
import { CaptureMetric, captureMetrics } from '../src/metrics.js'
import { clip, resolutionChangeClip } from './support/media.js'
import { startRtspServer, type RtspServer } from './support/rtsp-server.js'
import { startCapture, type Harness } from './support/harness.js'

const small = { width: 640, height: 360, fps: 30, seconds: 20 }
let server: RtspServer

t.before(async () => {
  const [h264, h265, corrupt, big] = await Promise.all([
    clip({ codec: 'h264', ...small }),
    clip({ codec: 'hevc', ...small }),
    clip({ codec: 'h264', ...small, corruptEvery: 10 }),
    clip({ codec: 'h264', width: 1280, height: 720, fps: 30, seconds: 5 }),
  ])
  server = await startRtspServer({ mounts: { '/h264': h264, '/h265': h265, '/corrupt': corrupt, '/big': big } })
})
t.teardown(() => server?.stop())

function capture(t: Test, path: string, extra: Record<string, unknown> = {}): Harness {
  const h = startCapture({ source: server.url(path, 'viewer:hunter2'), expect: { maxSize: '640x360' }, ...extra })
  t.teardown(() => h.teardown())
  return h
}

function noSecrets(t: Test, h: Harness): void {
  const everything = JSON.stringify({ health: h.health(), logs: h.logs, events: h.events })
  t.notMatch(everything, /hunter2/, 'the password appears in no health field, log line or event')
  t.notMatch(everything, /viewer/, 'nor does the user name')
}

for (const [codec, path] of [['h264', '/h264'], ['hevc', '/h265']] as const) {
  t.test(`${codec}: frames arrive in order with monotonic stamps and real health figures`, async (t) => {
    const h = capture(t, path)
    await h.until('60 frames', () => h.frames.length >= 60, 15_000)
    const f = h.frames
    t.ok(f.every((x, i) => i === 0 || x.seq === f[i - 1]!.seq + 1n), 'seq increases by one (no frame lost between decoder and consumer)')
    t.ok(f.every((x, i) => i === 0 || x.captureTsNs > f[i - 1]!.captureTsNs), 'capture stamps increase')
    t.ok(f.every((x) => x.publishTsNs >= x.captureTsNs), 'publish after receipt')
    t.ok(f.every((x) => x.width === 640 && x.height === 360))
    t.ok(f.some((x) => (x.flags & FrameFlags.KEYFRAME) !== 0), 'keyframes are flagged')
    await new Promise((r) => setTimeout(r, 600)) // let a summary interval pass
    const health = h.health()
    t.match(health, { state: 'streaming', status: 'green', codec, width: 640, height: 360, backend: 'software', reopens_total: 0, decode_errors_total: 0, ai_locked: false })
    t.ok(health.frames_per_s > 15 && health.frames_per_s < 45, `frames_per_s ${health.frames_per_s} near the clip's 30`)
    t.ok(health.decode_ms_p50! > 0 && health.decode_ms_p99! >= health.decode_ms_p50!, `decode p50 ${health.decode_ms_p50} p99 ${health.decode_ms_p99}`)
    t.ok(health.decode_ms_first_frame! > 0, `first frame after ${health.decode_ms_first_frame} ms`)
    t.ok(health.last_frame_age_ms! < 1000)
    t.match(health.source, /^rtsp:\/\/\*\*\*@127\.0\.0\.1:\d+\//)
    noSecrets(t, h)
  })
}

t.test('?transport=udp streams too', async (t) => {
  const h = startCapture({ source: `${server.url('/h264')}?transport=udp`, expect: { maxSize: '640x360' } })
  t.teardown(() => h.teardown())
  await h.until('30 frames over UDP', () => h.frames.length >= 30, 15_000)
  const f = h.frames
  t.ok(f.every((x, i) => i === 0 || x.seq === f[i - 1]!.seq + 1n))
  t.equal(h.health().reopens_total, 0)
})

t.test('the worker records into the shared metrics registry', async (t) => {
  const catalogue = captureMetrics()
  const registry = MetricsRegistry.create(catalogue)
  const h = startCapture({ source: server.url('/h264'), expect: { maxSize: '640x360' } }, undefined, { buffer: registry.buffer, catalogue })
  t.teardown(() => h.teardown())
  await h.until('30 frames', () => h.health().frames_total >= 30, 15_000)
  t.ok(registry.counter(CaptureMetric.framesPublished).value() >= 30, 'frames published counted')
  t.ok(registry.histogram(CaptureMetric.decodeDuration).snapshot().count >= 30, 'decode durations recorded')
  t.ok(registry.histogram(CaptureMetric.frameLatency, { stage: 'receive_to_publish' }).snapshot().count >= 30, 'receive-to-publish recorded')
  t.ok(registry.gauge(CaptureMetric.decodeFirstFrame).value() > 0, 'first-frame time set')
  t.equal(registry.counter(CaptureMetric.cameraReopens).value(), 0)
})

t.test('AI-lock: frames after /camera/down are flagged, after /camera/up they are not', async (t) => {
  const h = capture(t, '/h264')
  const [down, up] = h.service.routes()
  t.match([down, up], [{ method: 'POST', path: '/camera/down' }, { method: 'POST', path: '/camera/up' }])
  await h.until('frames', () => h.frames.length >= 5, 15_000)
  const respond = (route: typeof down): Promise<string> => new Promise((resolve) => {
    let body = ''
    const res = { writeHead: () => res, end: (b: string) => { body = b; resolve(body) } }
    void route!.handle({} as never, res as never)
  })
  t.same(JSON.parse(await respond(down)), { ai_locked: true })
  h.drain()
  const mark = h.frames.length
  await h.until('locked frames', () => h.frames.length >= mark + 10, 5000)
  const locked = h.frames.slice(mark + 1) // the frame being decoded at the switch may carry either flag
  t.ok(locked.every((f) => (f.flags & FrameFlags.AI_LOCKED) !== 0), `${locked.length} frames flagged AI-locked`)
  t.equal(h.health().ai_locked, true)
  t.same(JSON.parse(await respond(up)), { ai_locked: false })
  h.drain()
  const mark2 = h.frames.length
  await h.until('unlocked frames', () => h.frames.length >= mark2 + 10, 5000)
  t.ok(h.frames.slice(mark2 + 1).every((f) => (f.flags & FrameFlags.AI_LOCKED) === 0), 'flag cleared')
  t.equal(h.health().ai_locked, false)
})

t.test('a wrong path gives STREAM_NOT_FOUND (and keeps retrying)', async (t) => {
  const h = capture(t, '/no-such-stream')
  await h.until('a failure', () => h.health().failures_total >= 1, 15_000)
  const health = h.health()
  t.equal(health.last_error_code, 'STREAM_NOT_FOUND')
  t.match(health.last_error, /STREAM_NOT_FOUND: .*no-such-stream/)
  t.equal(health.frames_total, 0)
  t.not(health.status, 'green')
  noSecrets(t, h)
})

t.test('a corrupted stream counts decode errors and keeps going', async (t) => {
  const h = capture(t, '/corrupt')
  await h.until('decode errors', () => h.health().decode_errors_total >= 3, 15_000)
  const before = h.health()
  await h.until('frames after the errors', () => h.health().frames_total >= before.frames_total + 30, 10_000)
  const after = h.health()
  t.ok(after.decode_errors_total >= 3, `${after.decode_errors_total} decode errors counted`)
  t.equal(after.reopens_total, 0, 'no reopen: the stream was kept')
  t.equal(after.state, 'streaming')
  const f = h.frames
  t.ok(f.every((x, i) => i === 0 || x.seq === f[i - 1]!.seq + 1n), 'published frames stay in order')
})

t.test('a stream larger than the configured maximum fails at open with FORMAT_MISMATCH naming both sizes', async (t) => {
  const h = capture(t, '/big')
  await h.until('a failure', () => h.health().failures_total >= 1, 15_000)
  const health = h.health()
  t.equal(health.last_error_code, 'FORMAT_MISMATCH')
  t.match(health.last_error, /1280x720/)
  t.match(health.last_error, /640x360/)
  t.equal(health.frames_total, 0, 'nothing decoded on another path')
  noSecrets(t, h)
})

t.test('an expected codec that differs fails at open naming both codecs', async (t) => {
  const h = capture(t, '/h265', { expect: { maxSize: '640x360', codec: 'h264' } })
  await h.until('a failure', () => h.health().failures_total >= 1, 15_000)
  const health = h.health()
  t.equal(health.last_error_code, 'FORMAT_MISMATCH')
  t.match(health.last_error, /hevc/)
  t.match(health.last_error, /h264/)
  t.equal(health.frames_total, 0)
})

t.test('a camera that wants a password: right credentials stream, wrong ones give AUTH_FAILED, neither leaks', async (t) => {
  const file = await clip({ codec: 'h264', ...small })
  const secured = await startRtspServer({ mounts: { '/cam': file }, auth: 'operator:p@ss-W0rd' })
  t.teardown(() => secured.stop())
  const good = startCapture({ source: secured.url('/cam', 'operator:p%40ss-W0rd'), expect: { maxSize: '640x360' } })
  t.teardown(() => good.teardown())
  const bad = startCapture({ source: secured.url('/cam', 'operator:guessed-Pw1'), expect: { maxSize: '640x360' } })
  t.teardown(() => bad.teardown())
  await good.until('frames with the right password', () => good.frames.length >= 10, 15_000)
  await bad.until('the refusal', () => bad.health().failures_total >= 1, 15_000)
  t.equal(bad.health().last_error_code, 'AUTH_FAILED')
  t.match(bad.health().last_error, /rtsp:\/\/\*\*\*@127\.0\.0\.1/)
  for (const h of [good, bad]) {
    const everything = JSON.stringify({ health: h.health(), logs: h.logs, events: h.events })
    t.notMatch(everything, /p@ss-W0rd|p%40ss-W0rd|guessed-Pw1|operator/, 'no credential in health, logs or events')
  }
})

t.test('a camera that changes resolution mid-stream: a new epoch, no reopen', async (t) => {
  const file = await resolutionChangeClip([{ width: 640, height: 360, seconds: 3 }, { width: 320, height: 180, seconds: 3 }, { width: 640, height: 360, seconds: 3 }])
  const changing = await startRtspServer({ mounts: { '/cam': file } })
  t.teardown(() => changing.stop())
  const h = startCapture({ source: changing.url('/cam'), expect: { maxSize: '640x360' } })
  t.teardown(() => h.teardown())
  await h.until('the size to change', () => h.frames.some((f) => f.width === 320), 20_000)
  t.match(h.health(), { width: 320, height: 180 }, 'health shows the size the camera sends now')
  await h.until('the size to change back', () => h.frames.at(-1)!.width === 640, 20_000)
  t.match(h.health(), { width: 640, height: 360 }, 'and the size it changed back to')
  const shapes: string[] = []
  for (const f of h.frames) {
    const shape = `${f.width}x${f.height}@${f.epoch}`
    if (shapes.at(-1) !== shape) shapes.push(shape)
  }
  t.same(shapes, ['640x360@0', '320x180@1', '640x360@2'], 'each size change starts a new epoch')
  t.equal(h.health().reopens_total, 0, 'renegotiation is not a reconnect')
  t.ok(h.logs.some((l) => l.msg === 'stream renegotiated'))
})
