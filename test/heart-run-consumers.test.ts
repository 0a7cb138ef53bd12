// Consumer isolation in a real `heart run` (in-process, synthetic:// camera,
// real worker threads and ring): a consumer that throws is restarted by the
// supervisor while the camera and the other consumers carry on untouched, and
// a consumer behind a slow service loses only its own frames. The consumers
// and their options come from a YAML config file, as an operator writes them.

import { createServer, get as httpGet, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { runHeart, type RunningHeart } from '@heart/cli'
import t from 'tap'
import { waitFor } from './support/heart-run.js'

interface ConsumerFigures {
  delivered: number
  dropped: Record<string, number>
  skipped?: Record<string, number>
  lag: number
  published?: number
  worker?: { state: string; restarts: number; last_crash: string | null }
}
interface Report {
  camera: { state: string; reopens_total: number; frames_per_s: number }
  consumers: Record<string, ConsumerFigures>
  workers: Record<string, { state: string; starts: number; crashes: number; last_crash: string | null }>
}

async function startHeart(t: { teardown(fn: () => unknown): void }, yaml: string[]): Promise<RunningHeart & { health(): Report }> {
  const dir = mkdtempSync(join(tmpdir(), 'heart-consumers-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'heart.yaml')
  writeFileSync(file, [...yaml, ''].join('\n'))
  const heart = await runHeart({ configFile: file, status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  return { ...heart, health: () => heart.report() as unknown as Report }
}

function dropsOf(c: ConsumerFigures | undefined): number {
  return Object.values(c?.dropped ?? {}).reduce((a, b) => a + b, 0)
}

t.test('a consumer that throws is restarted; the camera and the other consumers never notice', async (t) => {
  const heart = await startHeart(t, [
    // rgb24 frames: the movement detector reads luma only, so it throws on every frame it gets.
    'source: "synthetic://?size=320x240&fps=30"',
    'camera: { pixFmt: rgb24 }',
    'http: { host: 127.0.0.1, port: 0 }',
    'thermal: { enabled: false }',
    'supervisor: { restartInitialMs: 100, restartMaxMs: 400 }',
    'consumers:',
    '  - { name: frame_verifier, kind: verify, depth: 32 }',
    '  - { name: movement_detector, kind: motion, depth: 2 }',
    '  - { name: telemetry_stream, kind: encoder, depth: 3, options: { fps: 10, width: 320 } }',
  ])
  // A live viewer: the encoder works only while someone watches (docs/stream.md).
  const viewer = httpGet({ host: '127.0.0.1', port: heart.http.port, path: '/stream.mjpeg', agent: false }, (res) => res.resume())
  viewer.on('error', () => undefined)
  t.teardown(() => void viewer.destroy())
  const reports: Array<{ consumer: string; badFrames: number; sequenceBreaks: number; frames: number; final?: boolean }> = []
  heart.kernel.on<(typeof reports)[number]>('verify.report', (e) => reports.push(e.payload))

  await waitFor('the movement detector to crash and be restarted three times', () => (heart.health().workers.movement_detector?.crashes ?? 0) >= 3)
  const during = heart.health()
  t.match(during.workers.movement_detector!.last_crash, /pixel format "rgb24"/, 'the crash reason names the problem')
  t.ok(during.workers.movement_detector!.starts >= 3, `restarted by the supervisor (${during.workers.movement_detector!.starts} starts)`)
  t.equal(during.workers.frame_verifier!.crashes, 0, 'the verifier never crashed')
  t.equal(during.workers.telemetry_stream!.crashes, 0, 'the encoder never crashed')
  t.equal(during.workers.capture!.crashes, 0, 'the capture worker never crashed')
  t.equal(during.camera.state, 'streaming', 'the camera kept streaming')
  t.equal(during.camera.reopens_total, 0, 'and was never reopened')
  const encodedBefore = during.consumers.telemetry_stream!.delivered
  await waitFor('the encoder to keep encoding', () => heart.health().consumers.telemetry_stream!.delivered >= encodedBefore + 5)

  const summary = await heart.stop()
  const verifier = summary.consumers.frame_verifier!
  const published = summary.published
  t.ok(published > 60, `${published} frames published`)
  t.same(
    Object.entries(verifier.dropped).filter(([, n]) => n > 0),
    [],
    'the verifier lost no frame while its neighbour crashed again and again',
  )
  t.ok(verifier.delivered > 60, `the verifier read ${verifier.delivered} frames`)
  const final = reports.filter((r) => r.consumer === 'frame_verifier').at(-1)
  t.ok(final, 'the verifier reported')
  t.equal(final?.badFrames, 0, 'every frame it read was intact (synthetic pattern checked)')
  t.equal(final?.sequenceBreaks, 0, 'and in sequence')
  // The books balance for the consumers that kept running: delivered + dropped + skipped = published since they joined.
  const books = (summary.health as unknown as Report).consumers
  for (const name of ['frame_verifier', 'telemetry_stream']) {
    const c = books[name]!
    const skipped = Object.values(c.skipped ?? {}).reduce((a, b) => a + b, 0)
    t.equal(c.delivered + dropsOf(c) + skipped + c.lag, c.published, `${name}: delivered ${c.delivered} + dropped ${dropsOf(c)} + skipped ${skipped} + queued ${c.lag} = published ${c.published}`)
  }
})

t.test('a consumer behind a slow service loses only its own frames', async (t) => {
  // A DeepStack-style service that takes 400 ms per answer.
  let requests = 0
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      requests++
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ success: true, predictions: [] }))
      }, 400)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const port = (server.address() as { port: number }).port

  const heart = await startHeart(t, [
    'source: "synthetic://?size=320x240&fps=30"',
    'http: { host: 127.0.0.1, port: 0 }',
    'thermal: { enabled: false }',
    'consumers:',
    '  - { name: frame_verifier, kind: verify, depth: 32 }',
    '  - { name: movement_detector, kind: motion, depth: 32 }',
    '  - name: detection_client',
    '    kind: detection',
    '    depth: 1',
    '    options:',
    '      protocol: deepstack',
    `      deepstack: { url: "http://127.0.0.1:${port}", imageFormat: bmp }`,
    '      maxInFlight: 1',
    '      fps: 30',
  ])
  await waitFor('the detection client to skip frames behind the slow service', () => (heart.health().consumers.detection_client?.dropped.detection_client_slow ?? 0) >= 30)
  // And the others have been reading alongside for a few seconds (each joins once its worker is ready).
  await waitFor('the verifier and the movement detector to read 90 frames', () =>
    ['frame_verifier', 'movement_detector'].every((n) => (heart.health().consumers[n]?.delivered ?? 0) >= 90),
  )
  const summary = await heart.stop()
  const det = summary.consumers.detection_client!
  t.ok(requests >= 2, `the service got ${requests} requests`)
  t.ok(det.dropped.detection_client_slow! >= 30, `the detection client skipped ${det.dropped.detection_client_slow} frames as detection_client_slow`)
  t.ok(det.delivered < summary.published / 4, `it handled ${det.delivered} of ${summary.published} frames`)
  for (const name of ['frame_verifier', 'movement_detector']) {
    const c = summary.consumers[name]
    t.ok(c, `${name} is in the books`)
    if (!c) continue
    t.same(
      Object.entries(c.dropped).filter(([, n]) => n > 0),
      [],
      `${name}: no frame lost (${c.delivered} delivered of the ${(summary.health as unknown as Report).consumers[name]?.published} published since it joined)`,
    )
  }
})
