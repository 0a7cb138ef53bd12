// The detection client's service state, from the worker's shared block to
// the kernel's /health object, with a real worker and a port nobody listens on.
import t from 'tap'
import { createServer } from 'node:net'
import { Kernel } from '@heart/kernel'
import { frameLayout } from '@heart/ring'
import { detectionService } from '../src/services.js'
import { ServiceHealthWriter, createServiceHealthBuffer, readServiceHealth, reportServiceHealth } from '../src/service-health.js'
import { VisionError } from '../src/errors.js'
import { startDeepStackServer } from './servers.js'
import { drawFrame } from './frames.js'
import { waitFor } from '@heart/telemetry/testing'


/** A port that was free a moment ago and has no listener now. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  await new Promise((r) => server.close(r))
  return port
}

t.test('the block: unknown, then up after an answer, unreachable or failing after errors, with the last one', async (t) => {
  const buffer = createServiceHealthBuffer()
  const read = readServiceHealth(buffer)
  const write = new ServiceHealthWriter(buffer)
  t.same(read(), { state: 'unknown', last_error: null, errors_total: 0 })
  write.up()
  t.same(read(), { state: 'up', last_error: null, errors_total: 0 })
  write.failed(new VisionError('DETECTION_SERVICE', 'deepstack detection service answered HTTP 500: boom'))
  t.same(read(), { state: 'failing', last_error: 'DETECTION_SERVICE: deepstack detection service answered HTTP 500: boom', errors_total: 1 })
  write.failed(new VisionError('DETECTION_TIMEOUT', 'too slow'))
  t.match(read(), { state: 'unreachable', last_error: /^DETECTION_TIMEOUT/, errors_total: 2 })
  write.up()
  t.match(read(), { state: 'up', errors_total: 2 }, 'the count stays; the state follows the latest request')
})

t.test('a detection consumer pointed at a closed port: /health says its service is unreachable, and why', async (t) => {
  const kernel = new Kernel()
  t.teardown(() => kernel.stop())
  const layout = frameLayout(320, 180, 'yuv420p')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 2, maxDepth: 4 })
  const port = await closedPort()
  const spec = detectionService({ ring: 'camera', app: { protocol: 'deepstack', deepstack: { url: `http://127.0.0.1:${port}`, imageFormat: 'bmp' }, fps: 0, deadlineMs: 1000 } })
  reportServiceHealth(kernel, spec)
  kernel.startConsumer(spec)
  kernel.start()
  await waitFor(() => ring.consumerStats().length === 1)
  const producer = ring.producer()
  const frame = drawFrame(320, 180, 'yuv420p', { x: 10, y: 10, w: 20, h: 20 })
  const publish = setInterval(() => {
    const slot = producer.beginWrite()
    if (!slot) return
    slot.bytes.set(frame.bytes)
    const now = process.hrtime.bigint()
    producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: 320, height: 180, pixFmt: 'yuv420p', planes: layout.planes })
  }, 50)
  t.teardown(() => clearInterval(publish))
  await waitFor(() => (kernel.report().consumers.detection_client?.service?.errors_total ?? 0) >= 2)
  const report = kernel.report()
  const service = report.consumers.detection_client!.service!
  t.equal(service.state, 'unreachable')
  t.match(service.last_error, new RegExp(`^DETECTION_UNREACHABLE: .*127\\.0\\.0\\.1:${port}.*ECONNREFUSED`))
  t.not(report.status, 'green', 'health is not green while its service is unreachable')
  t.match(report.reasons.join(';'), /consumer detection_client: its service is unreachable \(DETECTION_UNREACHABLE/)
})

t.test('a detection consumer whose service answers: up, and health says nothing against it', async (t) => {
  const server = await startDeepStackServer()
  t.teardown(() => server.close())
  const kernel = new Kernel()
  t.teardown(() => kernel.stop())
  const layout = frameLayout(320, 180, 'yuv420p')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 2, maxDepth: 4 })
  const spec = detectionService({ ring: 'camera', app: { protocol: 'deepstack', deepstack: { url: server.url, imageFormat: 'bmp' }, fps: 0 } })
  reportServiceHealth(kernel, spec)
  kernel.startConsumer(spec)
  kernel.start()
  await waitFor(() => ring.consumerStats().length === 1)
  const producer = ring.producer()
  const slot = producer.beginWrite()!
  slot.bytes.set(drawFrame(320, 180, 'yuv420p', { x: 10, y: 10, w: 20, h: 20 }).bytes)
  const now = process.hrtime.bigint()
  producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: 320, height: 180, pixFmt: 'yuv420p', planes: layout.planes })
  await waitFor(() => kernel.report().consumers.detection_client?.service?.state === 'up')
  const report = kernel.report()
  t.same(report.consumers.detection_client!.service, { state: 'up', last_error: null, errors_total: 0 })
  // (The loop's own figures may turn it yellow on a loaded box; the service must not.)
  t.notMatch(report.reasons.join(';'), /detection_client/, 'health has nothing to say about the consumer')
})
