// `heart run` (the real bin, a child process) on the test camera with the
// detection client speaking the Open Inference Protocol to a real MLServer
// (packages/vision/test/fixtures/mlserver: one box around the brightest
// region). Asked for the binary tensor extension, which MLServer lacks, the
// worker falls back to JSON tensors and says so in the log; detection events
// then flow (seen through the live feed's latest detection), /health shows
// the service up and counts the events.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freeLoopbackPort, waitFor } from '@heart/telemetry/testing'
import { BRIGHTEST_MODEL, startMlServer } from '@heart/vision/testing'
import t from 'tap'

const bin = fileURLToPath(new URL('../src/bin.js', import.meta.url))

interface Health {
  consumers: Record<string, { published: number; service?: { state: string; last_error: string | null; errors_total: number } }>
}

interface Latest {
  detection: { seq: string; detections: Array<{ label: string; confidence: number; box: { x: number; y: number; w: number; h: number } }> } | null
}

t.test('heart run: the detection client against MLServer produces detection events, falling back to JSON tensors', async (t) => {
  const mlserver = await startMlServer()
  t.teardown(() => mlserver.stop())
  const httpPort = await freeLoopbackPort()
  const config = join(t.testdir({}), 'heart.yaml')
  const oip = [
    `url: "${mlserver.url}"`,
    `model: ${BRIGHTEST_MODEL}`,
    'input: { name: images, width: 320, height: 320, layout: NHWC, datatype: UINT8 }',
    'output: { boxes: boxes, scores: scores, labels: labels }',
    'binary: true',
  ].join(', ')
  writeFileSync(
    config,
    [
      'source: "testsrc://?size=320x240&fps=15"',
      'camera: { expect: { maxSize: 320x240 }, decodeThreads: 1 }',
      'consumers:',
      `  - { name: detection_client, kind: detection, options: { protocol: oip, fps: 3, deadlineMs: 10000, oip: { ${oip} } } }`,
      '  - { name: live, kind: encoder, options: { fps: 2 } }',
      `http: { port: ${httpPort} }`,
    ].join('\n'),
  )
  const child: ChildProcess = spawn(process.execPath, [bin, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL')
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const get = async <T>(path: string): Promise<T | null> => {
    const res = await fetch(`http://127.0.0.1:${httpPort}${path}`).catch(() => null)
    return res?.ok ? ((await res.json()) as T) : null
  }

  const published = async () => (await get<Health>('/health'))?.consumers.detection_client?.published ?? 0
  await waitFor(async () => (await published()) >= 3, 'three detection events', () => stderr.slice(-2000), 60_000)
  await waitFor(async () => (await get<Health>('/health'))?.consumers.detection_client?.service?.state === 'up', 'the service up in /health', undefined, 10_000)
  const health = (await get<Health>('/health'))!
  t.match(health.consumers.detection_client!.service, { state: 'up', last_error: null }, `/health: the detection service is up (${JSON.stringify(health.consumers.detection_client)})`)
  t.ok(health.consumers.detection_client!.published >= 3, `detection events counted (${health.consumers.detection_client!.published})`)

  await waitFor(async () => ((await get<Latest>('/frames/latest.json'))?.detection?.detections.length ?? 0) > 0, 'a detection in the live feed', undefined, 20_000)
  const latest = (await get<Latest>('/frames/latest.json'))!.detection!
  const d = latest.detections[0]!
  t.equal(d.label, 'bright', 'the label MLServer sent')
  t.ok(d.confidence > 0.89 && d.confidence < 0.91, `its score (${d.confidence})`)
  // The test camera's white box: 40x40 from row 100, sweeping left to right
  // (native/src/testsrc.rs). H.264 smears its edges, and where the gradient's
  // white stripe passes beside it the model's patch takes in up to ~10 px of it.
  const near = (got: number, want: number, by: number) => Math.abs(got - want) <= by
  const { x, y, w, h } = d.box
  t.ok(near(y, 100, 6) && near(y + h, 140, 10) && near(w, 44, 12) && x >= 0 && x + w <= 320, `on the test camera's white box: ${JSON.stringify(d.box)}`)

  t.match(stderr, /refused the binary tensor extension/, 'the log says heart fell back to JSON tensors')
  t.equal(stderr.match(/refused the binary tensor extension/g)?.length, 1, 'once')
  process.kill(child.pid!, 'SIGTERM')
  t.equal(await exited, 0, 'heart stops cleanly')
})
