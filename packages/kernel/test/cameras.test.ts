// The kernel with several cameras: consumer services named CAMERA.NAME whose
// ring places keep NAME, each camera's consumers and metrics apart, and each
// camera judged on its own (one down: yellow; all down: red).
import t from 'tap'
import { FrameRing, frameLayout } from '@heart/ring'
import { MetricsRegistry } from '@heart/telemetry'
import { Kernel, kernelMetrics, type CameraHealth } from '../src/index.js'
import { waitFor } from '@heart/telemetry/testing'

const consumerEntry = new URL('./fixtures/counting-consumer.js', import.meta.url)
const layout = frameLayout(64, 48, 'gray')

function camera(state: string, ageMs: number | null): CameraHealth {
  return { state, frames_per_s: 30, decode_ms_p50: 1, decode_ms_p99: 2, decode_ms_first_frame: 10, last_frame_age_ms: ageMs, reopens_total: 0, decode_errors_total: 0, backend: 'test', ai_locked: false }
}

function publish(ring: FrameRing, n: number): void {
  const producer = ring.producer()
  for (let i = 0; i < n; i++) {
    const slot = producer.beginWrite()
    if (!slot) continue
    const now = process.hrtime.bigint()
    producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: 64, height: 48, pixFmt: 'gray', planes: layout.planes })
  }
}

/** Cameras front and rear, each with its own registry and ring and a `counter` consumer. */
function frontAndRear(kernel: Kernel, health: (name: string) => CameraHealth): { registries: Map<string, MetricsRegistry>; rings: Map<string, FrameRing> } {
  const registries = new Map<string, MetricsRegistry>()
  const rings = new Map<string, FrameRing>()
  for (const name of ['front', 'rear']) {
    const catalogue = kernelMetrics({ consumers: ['counter'] })
    const registry = MetricsRegistry.create(catalogue)
    registries.set(name, registry)
    const ring = FrameRing.create({ slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 32, maxDepth: 32 })
    rings.set(name, ring)
    kernel.addCamera(name, { ring, health: () => health(name), metrics: { buffer: registry.buffer, catalogue } })
    kernel.startConsumer({ name: 'counter', entry: consumerEntry, ring: name })
  }
  return { registries, rings }
}

t.test('several cameras: services CAMERA.NAME, books and metrics per camera', async (t) => {
  const kernel = new Kernel({ multiCamera: true, metricsUpkeepMs: 50 })
  t.teardown(() => kernel.stop())
  const states: Record<string, CameraHealth> = { front: camera('streaming', 10), rear: camera('streaming', 10) }
  const { registries, rings } = frontAndRear(kernel, (name) => states[name]!)
  t.same(kernel.cameraNames(), ['front', 'rear'])
  t.equal(kernel.consumerServiceName('rear', 'counter'), 'rear.counter')
  t.equal(kernel.cameraOfService('rear.counter'), 'rear')
  t.equal(kernel.cameraOfService('thermal'), null)
  t.throws(() => kernel.addCamera('front', { ring: rings.get('front')!, health: () => null }), /exists already/)
  kernel.start()
  await waitFor(() => [...rings.values()].every((r) => r.consumerStats().some((s) => s.name === 'counter' && (s.state === 'active' || s.state === 'joining'))), 'both consumers joined')
  publish(rings.get('front')!, 7)
  publish(rings.get('rear')!, 3)
  await waitFor(() => kernel.report().cameras?.front?.consumers.counter?.delivered === 7 && kernel.report().cameras?.rear?.consumers.counter?.delivered === 3, 'each camera\'s consumer delivered its own frames')

  const report = kernel.report()
  t.ok(report.workers['front.counter'] && report.workers['rear.counter'], 'one service per camera and consumer')
  t.equal(report.cameras!.rear!.consumers.counter!.worker?.state, 'running', 'the worker is found under its qualified name')
  t.equal(report.consumers, report.cameras!.front!.consumers, 'the wave-1 consumers key is the first camera\'s')
  // Not judged green outright: the tick loop's p99 may be yellow on a loaded machine; no camera is a reason.
  t.notOk(report.reasons.some((r) => r.startsWith('camera ')), 'no camera is a reason while both stream')
  // Each camera's registry got its own books.
  await waitFor(() => registries.get('front')!.counter('heart.frames.delivered', { consumer: 'counter' }).value() === 7, 'front metrics')
  await waitFor(() => registries.get('rear')!.counter('heart.frames.delivered', { consumer: 'counter' }).value() === 3, 'rear metrics')
  t.equal(registries.get('front')!.counter('heart.frames.delivered', { consumer: 'counter' }).value(), 7, 'front counted apart from rear')

  // One camera down: yellow, named; every camera down: red.
  states.rear = camera('backoff', 9000)
  const oneDown = kernel.report()
  t.equal(oneDown.status, 'yellow')
  t.ok(oneDown.reasons.some((r) => r.startsWith('camera rear: last frame 9000 ms ago')), JSON.stringify(oneDown.reasons))
  states.front = camera('backoff', null)
  const allDown = kernel.report()
  t.equal(allDown.status, 'red')
  t.ok(allDown.reasons.some((r) => r.startsWith('camera front: no frame received yet')))
  // A disabled camera is never judged.
  states.front = camera('disabled', null)
  t.equal(kernel.report().status, 'red', 'the only enabled camera is down: red')
  states.rear = camera('streaming', 5)
  const mixed = kernel.report()
  t.not(mixed.status, 'red', 'a disabled camera and a streaming one: not red')
  t.notOk(mixed.reasons.some((r) => r.startsWith('camera ')), 'and neither is a reason')
})

t.test('one camera: wave-1 service names and one cameras entry', async (t) => {
  const kernel = new Kernel()
  t.teardown(() => kernel.stop())
  const ring = FrameRing.create({ slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 8, maxDepth: 8 })
  kernel.addCamera('main', { ring, health: () => camera('streaming', 10) })
  t.equal(kernel.consumerServiceName('main', 'counter'), 'counter')
  kernel.startConsumer({ name: 'counter', entry: consumerEntry, ring: 'main' })
  kernel.start()
  await waitFor(() => ring.consumerStats().some((s) => s.state === 'active' || s.state === 'joining'), 'joined')
  const report = kernel.report()
  t.ok(report.workers.counter, 'the service keeps its own name')
  t.same(Object.keys(report.cameras!), ['main'])
  t.same(report.cameras!.main!.consumers, report.consumers)
})

t.test('removeCamera (a config reload): the camera, its consumers\' books and its metrics upkeep go; the next camera becomes the first', async (t) => {
  const kernel = new Kernel({ multiCamera: true, metricsUpkeepMs: 20 })
  t.teardown(() => kernel.stop())
  const { registries, rings } = frontAndRear(kernel, () => camera('streaming', 10))
  kernel.start()
  await waitFor(() => [...rings.values()].every((r) => r.consumerStats().some((s) => s.name === 'counter' && (s.state === 'active' || s.state === 'joining'))), 'both consumers joined')
  publish(rings.get('front')!, 4)
  await waitFor(() => registries.get('front')!.gauge('heart.consumer.lag', { consumer: 'counter' }).value() === 0 && kernel.report().cameras?.front?.consumers.counter?.delivered === 4, 'front delivered')

  t.throws(() => kernel.removeCamera('nosuch'), /no camera named "nosuch"/)
  await kernel.supervisor.stop('front.counter')
  kernel.removeCamera('front')
  t.same(kernel.cameraNames(), ['rear'], 'only rear is left')
  t.equal(kernel.ring('front'), undefined, 'its ring is gone')
  t.equal(kernel.cameraOfService('front.counter'), null, 'its consumer belongs to no camera now')
  const report = kernel.report()
  t.same(Object.keys(report.cameras!), ['rear'], '/health lists rear only')
  t.equal(report.consumers, report.cameras!.rear!.consumers, 'the wave-1 keys are rear\'s now')

  // Its upkeep stopped: the occupancy gauge it set from the ring every 20 ms is left as written now.
  const occupancy = registries.get('front')!.gauge('heart.ring.occupancy', {})
  occupancy.set(99)
  await new Promise((r) => setTimeout(r, 150))
  t.equal(occupancy.value(), 99, 'the removed camera\'s metrics upkeep no longer runs')

  // The name can be used again (a changed camera is removed and added back).
  const ring = FrameRing.create({ slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 32, maxDepth: 32 })
  kernel.addCamera('front', { ring, health: () => camera('streaming', 10) })
  t.same(kernel.cameraNames(), ['rear', 'front'], 'added back after the one that stayed')
})

t.test('tick loop timers can be cancelled', async (t) => {
  const kernel = new Kernel()
  t.teardown(() => kernel.stop())
  let n = 0
  const cancel = kernel.loop.every(5, () => void n++)
  kernel.start()
  await waitFor(() => n >= 2, 'the timer ran')
  cancel()
  const at = n
  await new Promise((r) => setTimeout(r, 100))
  t.ok(n <= at + 1, `no more runs after cancel (${at} then ${n})`)
})
