// Three cameras in one heart, each from its own GStreamer RTSP server: one
// server is killed and started again while the other two stream on. Judged
// by the books of each camera's real movement detector (delivered + dropped
// = published since it joined), by the cameras' reopen counts, by /health,
// /metrics and the per-camera routes of the running process.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger, type CameraReport, type HealthReport } from '@heart/kernel'
import { waitFor } from '@heart/telemetry/testing'
import { runHeart } from '../src/run.js'

// The capture package's test servers are not exported; load its compiled helpers from where tsc puts them.
type RtspSupport = typeof import('../../capture/dist/test/support/rtsp-server.js')
type MediaSupport = typeof import('../../capture/dist/test/support/media.js')
const captureSupport = (file: string): URL => new URL(`../../../capture/dist/test/support/${file}`, import.meta.url)
const { startRtspServer } = (await import(captureSupport('rtsp-server.js').href)) as RtspSupport
const { clip } = (await import(captureSupport('media.js').href)) as MediaSupport

const CAMERAS = ['front', 'rear', 'side'] as const

/** What the test needs of a camera's movement detector: its books, summed the way /health sums them. */
function lost(camera: CameraReport): number {
  const books = camera.consumers.movement_detector
  if (!books) return Number.NaN
  return Object.values(books.dropped).reduce((a, b) => a + b, 0)
}

t.test('three RTSP cameras: one server killed and back, the other two lose nothing', async (t) => {
  // Long enough for the whole test: the server serves the file once per client, in real time.
  const file = await clip({ codec: 'h264', width: 640, height: 360, fps: 30, seconds: 90 })
  const servers = new Map<string, Awaited<ReturnType<typeof startRtspServer>>>()
  for (const name of CAMERAS) servers.set(name, await startRtspServer({ mounts: { '/cam': file } }))
  t.teardown(async () => {
    for (const server of servers.values()) await server.stop()
  })
  const dir = mkdtempSync(join(tmpdir(), 'heart-cameras-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = join(dir, 'heart.yaml')
  writeFileSync(
    config,
    [
      'http: { port: 0 }',
      'thermal: { enabled: false }',
      // A short backoff: the test judges how soon a camera streams again after its server returns.
      'camera: { reconnect: { initialMs: 100, maxMs: 400, probeIntervalMs: 0 } }',
      'consumers:',
      '  - { name: movement_detector, kind: motion, depth: 16 }',
      'cameras:',
      ...CAMERAS.map((name) => `  ${name}: { source: "${servers.get(name)!.url('/cam')}" }`),
      '  spare: { source: "testsrc://?size=320x240&fps=30", enabled: false }',
    ].join('\n') + '\n',
  )
  const heart = await runHeart({ configFile: config, status: false, logger: silentLogger, durationS: 120 })
  t.teardown(() => heart.stop())
  const base = `http://127.0.0.1:${heart.http.port}`
  const health = async (): Promise<HealthReport> => (await (await fetch(`${base}/health`)).json()) as HealthReport
  const streaming = (h: HealthReport, name: string): boolean => h.cameras?.[name]?.state === 'streaming' && (h.cameras[name]!.consumers.movement_detector?.delivered ?? 0) > 10

  let last: HealthReport | null = null
  await waitFor(async () => {
    last = await health()
    return CAMERAS.every((name) => streaming(last!, name))
  }, 'every camera streaming with its detector delivering', () => last?.cameras, 30_000)

  // Per-camera health, and the wave-1 keys describing the first camera.
  let h = await health()
  t.same(Object.keys(h.cameras!), [...CAMERAS, 'spare'], 'every configured camera in /health, in config order')
  t.equal(h.cameras!.spare!.state, 'disabled', 'a disabled camera is shown, not started')
  t.equal(h.camera.source, h.cameras!.front!.source, 'the wave-1 camera key is the first camera')
  t.ok(h.consumers.movement_detector, 'the wave-1 consumers key is the first camera\'s')
  t.ok(h.workers['front.movement_detector'] && h.workers['rear.capture'], 'services are named CAMERA.NAME')

  // Per-camera metrics: a camera label on each camera's series (the books are copied into them twice a second).
  let metrics = ''
  const delivered = (name: string): RegExp => new RegExp(`heart_frames_delivered_total\\{camera="${name}",consumer="movement_detector"\\} [1-9]`)
  await waitFor(async () => {
    metrics = await (await fetch(`${base}/metrics`)).text()
    return CAMERAS.every((name) => delivered(name).test(metrics))
  }, 'every camera\'s deliveries in /metrics', undefined, 10_000).catch(() => undefined)
  for (const name of CAMERAS) {
    t.match(metrics, new RegExp(`heart_frames_published_total\\{camera="${name}"\\} [1-9]`), `${name}: published frames labelled`)
    t.match(metrics, delivered(name), `${name}: delivered frames labelled`)
  }
  t.equal(metrics.match(/^# TYPE heart_frames_published_total /gm)?.length, 1, 'one metric family for all cameras')

  // Per-camera routes: the AI-lock of one camera only; the unprefixed route is the first camera's.
  const post = (path: string): Promise<Response> => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.same(await (await post('/cameras/rear/down')).json(), { ai_locked: true })
  h = await health()
  t.same(CAMERAS.map((name) => h.cameras![name]!.ai_locked), [false, true, false], 'only rear is held down')
  await post('/cameras/rear/up')
  t.same(await (await post('/camera/down')).json(), { ai_locked: true }, 'the wave-1 /camera/down addresses the first camera')
  h = await health()
  t.equal(h.cameras!.front!.ai_locked, true)
  await post('/camera/up')
  t.equal((await fetch(`${base}/cameras/nosuch/down`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 404, 'an unknown camera has no routes')

  // Kill side's server; front and rear stream on.
  h = await health()
  const before = Object.fromEntries(CAMERAS.map((name) => [name, { lost: lost(h.cameras![name]!), reopens: h.cameras![name]!.reopens_total }]))
  const side = servers.get('side')!
  const port = side.port
  await side.stop()
  await waitFor(async () => (await health()).cameras!.side!.state !== 'streaming', 'side noticed its server is gone', undefined, 15_000)
  h = await health()
  t.not(h.status, 'red', 'one camera down of three is not a dead box')
  t.ok(h.reasons.some((r) => r.startsWith('camera side:')), `the reason names the camera: ${JSON.stringify(h.reasons)}`)
  // Down for a while: the other two must not notice.
  await new Promise((r) => setTimeout(r, 3000))
  const returned = performance.now()
  servers.set('side', await startRtspServer({ mounts: { '/cam': file }, port }))
  const publishedAtReturn = heart.cameras.find((c) => c.name === 'side')!.capture.ring.published()
  await waitFor(() => heart.cameras.find((c) => c.name === 'side')!.capture.ring.published() > publishedAtReturn, 'side publishes again', undefined, 15_000)
  const backMs = performance.now() - returned
  t.comment(`side streamed again ${Math.round(backMs)} ms after its server returned`)
  t.ok(backMs < 2000, `side streams again within 2 s of its server's return (took ${Math.round(backMs)} ms)`)

  // A few seconds more of all three, then the books of the two that stayed up.
  await new Promise((r) => setTimeout(r, 2000))
  const summary = await heart.stop()
  for (const name of ['front', 'rear'] as const) {
    const camera = summary.health.cameras![name]!
    t.equal(camera.reopens_total, before[name]!.reopens, `${name}: never reopened`)
    t.equal(lost(camera), before[name]!.lost, `${name}: no frame lost while side was down`)
    t.equal(lost(camera), 0, `${name}: no frame lost in the whole run`)
    const books = summary.cameras[name]!.consumers.movement_detector!
    t.ok(books.delivered > 0, `${name}: its detector delivered ${books.delivered} frames`)
  }
  t.ok(summary.health.cameras!.side!.reopens_total > before.side!.reopens, 'side reopened after its server came back')
  t.same(Object.keys(summary.cameras), [...CAMERAS], 'the summary has every started camera')
})
