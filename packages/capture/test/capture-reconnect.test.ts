// Reconnecting against a real RTSP server that dies, comes back, never was
// there, or hangs. The reconnect policy runs with its real defaults (1 s
// backoff growing to 30 s, 1 s reachability probe), so these tests show the
// 5-second recovery promise holds with production settings.
import t from 'tap'
import { clip } from './support/media.js'
import { freePort, startRtspServer } from './support/rtsp-server.js'
import { startCapture } from './support/harness.js'

let file: string
t.before(async () => {
  file = await clip({ codec: 'h264', width: 640, height: 360, fps: 30, seconds: 60 })
})

t.test('server killed mid-stream and restarted: frames flow again within 5 s of its return, the reopen counted', async (t) => {
  let server = await startRtspServer({ mounts: { '/cam': file } })
  t.teardown(() => server.stop())
  const h = startCapture({ source: server.url('/cam'), expect: { maxSize: '640x360' } })
  t.teardown(() => h.teardown())
  await h.until('streaming', () => h.frames.length >= 30, 15_000)
  const epochBefore = h.frames.at(-1)!.epoch
  await server.stop()
  await h.until('the failure noticed', () => h.health().failures_total >= 1, 10_000)
  t.not(h.health().status, 'green', 'health leaves green after the failure')
  // A long enough outage for the backoff to grow past what the 5 s promise allows (1+2+4 s of waits).
  await new Promise((r) => setTimeout(r, 8000))
  t.ok(h.health().failures_total >= 3, `failures while down: ${h.health().failures_total}`)
  server = await startRtspServer({ mounts: { '/cam': file }, port: server.port })
  const backAt = performance.now()
  const seen = h.frames.length
  await h.until('frames again', () => h.frames.length > seen, 15_000)
  const recoveryMs = performance.now() - backAt
  t.comment(`recovered ${recoveryMs.toFixed(0)} ms after the server came back`)
  t.ok(recoveryMs < 5000, `streaming again ${recoveryMs.toFixed(0)} ms after the server returned (goal < 5000)`)
  // The loop commits a frame to the ring a moment before it writes the health block, so a
  // reader can see the frame first: give the block that moment, not more.
  await h.until('health says streaming', () => h.health().state === 'streaming', 1000).catch(() => {})
  const health = h.health()
  t.ok(health.reopens_total >= 1, `reopens_total ${health.reopens_total}`)
  t.equal(health.state, 'streaming')
  t.ok(h.frames.at(-1)!.epoch > epochBefore, 'consumers see a new epoch after the reconnect')
  const logged = h.logs.filter((l) => l.msg.includes('reachable again'))
  t.ok(logged.length >= 1, 'the reachability probe triggered the reconnect')
})

t.test('no server at start, then one appears', async (t) => {
  const port = await freePort()
  const h = startCapture({ source: `rtsp://127.0.0.1:${port}/cam`, expect: { maxSize: '640x360' } })
  t.teardown(() => h.teardown())
  await h.until('the first connection to fail', () => h.health().failures_total >= 1, 10_000)
  t.equal(h.health().last_error_code, 'CONNECT_REFUSED')
  await new Promise((r) => setTimeout(r, 3000))
  const server = await startRtspServer({ mounts: { '/cam': file }, port })
  t.teardown(() => server.stop())
  const backAt = performance.now()
  await h.until('frames', () => h.frames.length > 0, 15_000)
  const ms = performance.now() - backAt
  t.comment(`first frame ${ms.toFixed(0)} ms after the server appeared`)
  t.ok(ms < 5000, `first frame ${ms.toFixed(0)} ms after the server appeared (goal < 5000)`)
  t.ok(h.health().reopens_total >= 1)
})

t.test('stopping while the server hangs (SIGSTOP) returns within 1 s', async (t) => {
  const server = await startRtspServer({ mounts: { '/cam': file } })
  t.teardown(() => server.stop())
  const h = startCapture({ source: server.url('/cam'), expect: { maxSize: '640x360' }, stallTimeoutMs: 60_000 })
  t.teardown(() => h.teardown())
  await h.until('streaming', () => h.frames.length >= 10, 15_000)
  server.pause()
  t.teardown(() => server.resume())
  await new Promise((r) => setTimeout(r, 500)) // the worker is now blocked in a read that will not complete
  const started = performance.now()
  await h.service.stop()
  const ms = performance.now() - started
  t.comment(`stop took ${ms.toFixed(0)} ms`)
  t.ok(ms < 1000, `stop returned in ${ms.toFixed(0)} ms (goal < 1000)`)
  t.equal(h.health().state, 'stopped')
})
