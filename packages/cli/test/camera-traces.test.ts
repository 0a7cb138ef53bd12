// Frame traces per camera (issue 15: "the camera in every log line and
// span"): with two cameras exporting to a real OTLP/HTTP receiver, every span
// of a sampled frame (the capture's root and each consumer's) says which
// camera the frame came from.
import t from 'tap'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { startOtlpReceiver, waitFor } from '@heart/telemetry/testing'
import { runHeart } from '../src/run.js'

t.test('every exported span of a camera\'s frames carries heart.camera', async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  const camera = '{ source: "testsrc://?size=160x120&fps=30", expect: { maxSize: 160x120 } }'
  const file = join(
    t.testdir({
      'heart.yaml': [
        'http: { port: 0 }',
        'thermal: { enabled: false }',
        'consumers: [{ name: movement_detector, kind: motion }]',
        `telemetry: { otlp: { endpoint: "${receiver.url}", metricsIntervalMs: 60000 }, traces: { sampleEvery: 15, exportDelayMs: 500 } }`,
        'cameras:',
        `  front: ${camera}`,
        `  rear: ${camera}`,
      ].join('\n') + '\n',
    }),
    'heart.yaml',
  )
  const heart = await runHeart({ configFile: file, status: false, logger: silentLogger, durationS: 60 })
  t.teardown(() => heart.stop())
  const consumeOf = (camera: string): number => receiver.spans.filter((s) => s.name === 'consume movement_detector' && s.attributes['heart.camera'] === camera).length
  await waitFor(() => consumeOf('front') >= 2 && consumeOf('rear') >= 2, 'consume spans of both cameras', () => receiver.spans.map((s) => `${s.name} ${String(s.attributes['heart.camera'])}`).slice(-10), 30_000)
  await heart.stop()
  const unlabelled = receiver.spans.filter((s) => s.attributes['heart.camera'] !== 'front' && s.attributes['heart.camera'] !== 'rear')
  t.same(unlabelled.map((s) => s.name), [], 'no span without its camera')
  // A trace is one camera's frame: its spans never mix cameras.
  const cameraOfTrace = new Map<string, Set<unknown>>()
  for (const s of receiver.spans) cameraOfTrace.set(s.traceId, (cameraOfTrace.get(s.traceId) ?? new Set()).add(s.attributes['heart.camera']))
  t.ok([...cameraOfTrace.values()].every((cameras) => cameras.size === 1), `each of ${cameraOfTrace.size} traces has one camera`)
  const roots = receiver.spans.filter((s) => s.parentSpanId === '')
  t.ok(roots.some((s) => s.attributes['heart.camera'] === 'front') && roots.some((s) => s.attributes['heart.camera'] === 'rear'), 'root spans of both cameras')
})
