import t from 'tap'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as vision from '../src/index.js'

t.test('descriptors point at built worker entries and carry ring options', async (t) => {
  const m = vision.motionService({ ring: 'camera', app: { inputWidth: 320 } })
  t.equal(m.name, 'movement_detector')
  t.ok(existsSync(fileURLToPath(m.entry)), 'motion worker entry exists')
  t.same(m.consumer, { depth: 1, maxLeases: 1 })
  const d = vision.detectionService({
    ring: 'camera',
    name: 'detector_b',
    consumer: { fpsCap: 2 },
    app: { protocol: 'deepstack', deepstack: { url: 'http://127.0.0.1:32168' } },
  })
  t.equal(d.name, 'detector_b')
  t.ok(existsSync(fileURLToPath(d.entry)), 'detection worker entry exists')
  t.same(d.consumer, { depth: 1, maxLeases: 1, skipAiLocked: true, fpsCap: 2 })
})

t.test('bad worker options fail in the main thread with the option named', async (t) => {
  t.throws(() => vision.motionService({ ring: 'camera', app: { detector: { threshold: 999 } } }), /threshold/)
  t.throws(() => vision.validateMotionWorkerOptions({ inputWidth: 3 }), /inputWidth/)
  t.throws(() => vision.validateMotionWorkerOptions({ scaler: 'gpu' }), /scaler/)
  t.throws(() => vision.validateDetectionWorkerOptions({ protocol: 'grpc' }), /"deepstack".*"oip"/)
  t.throws(() => vision.validateDetectionWorkerOptions({ protocol: 'deepstack' }), /detection.url/)
  t.throws(() => vision.validateDetectionWorkerOptions({ protocol: 'deepstack', deepstack: { url: 'http://x', imageFormat: 'png' } }), /imageFormat/)
  t.throws(() => vision.validateDetectionWorkerOptions({ protocol: 'oip', oip: { url: 'http://x' } }), /detection.model/)
  t.throws(() => vision.validateDetectionWorkerOptions({ protocol: 'deepstack', deepstack: { url: 'http://x' }, maxInFlight: 0 }), /maxInFlight/)
  t.ok(vision.validateDetectionWorkerOptions({ protocol: 'deepstack', deepstack: { url: 'http://x' } }))
})
