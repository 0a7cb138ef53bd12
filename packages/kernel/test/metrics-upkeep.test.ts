import t from 'tap'
import { frameLayout } from '@heart/ring'
import { LOSS_REASON_NAMES, SKIP_REASON_NAMES } from '@heart/contracts'
import { MetricsRegistry, renderPrometheus } from '@heart/telemetry'
import { Kernel, KernelMetric, MetricsUpkeep, dropReasonOf, kernelMetrics, type MetricsUpkeepSources } from '../src/index.js'
import { sleep, waitFor } from '@heart/telemetry/testing'

const consumerEntry = new URL('./fixtures/counting-consumer.js', import.meta.url)

type Books = ReturnType<MetricsUpkeepSources['consumers']>

t.test('ring reason names map to catalogue reasons', async (t) => {
  t.equal(dropReasonOf('motion', 'motion_slow'), 'slow')
  t.equal(dropReasonOf('motion', 'rate_limited'), 'rate_limited')
  // Another consumer's slow name is not this consumer's slow reason.
  t.equal(dropReasonOf('motion', 'encoder_slow'), 'encoder_slow')
})

t.test('counters follow the books and only go up; gauges are set', async (t) => {
  const registry = MetricsRegistry.create(kernelMetrics({ consumers: ['motion', 'encoder'] }))
  let books: Books = {
    motion: { delivered: 100, dropped: { motion_slow: 3 }, skipped: { rate_limited: 0 }, lag: 2 },
    encoder: { delivered: 90, dropped: { encoder_slow: 0 }, skipped: { ai_locked: 5 }, lag: 0 },
  }
  let ring = { slotCount: 10, slotsInUse: 4, noSlotDrops: 1 }
  let camera: { last_frame_age_ms: number | null; ai_locked: boolean } = { last_frame_age_ms: 12.5, ai_locked: true }
  const unknown: string[] = []
  const upkeep = new MetricsUpkeep(registry, { consumers: () => books, ring: () => ring, camera: () => camera }, (w) => unknown.push(w))

  upkeep.update()
  const delivered = (c: string) => registry.counter(KernelMetric.framesDelivered, { consumer: c }).value()
  const dropped = (c: string, r: string) => registry.counter(KernelMetric.framesDropped, { consumer: c, reason: r }).value()
  const skipped = (c: string, r: string) => registry.counter(KernelMetric.framesSkipped, { consumer: c, reason: r }).value()
  t.equal(delivered('motion'), 100)
  t.equal(delivered('encoder'), 90)
  t.equal(dropped('motion', 'slow'), 3, 'motion_slow counted as consumer=motion, reason=slow')
  t.equal(skipped('encoder', 'ai_locked'), 5, 'an intended skip is counted as skipped')
  t.throws(() => registry.counter(KernelMetric.framesDropped, { consumer: 'encoder', reason: 'ai_locked' }), 'and heart.frames.dropped has no skip reason to count it under')
  t.equal(dropped('producer', 'no_slot'), 1)
  t.equal(registry.gauge(KernelMetric.ringOccupancy).value(), 0.4)
  t.equal(registry.gauge(KernelMetric.consumerLag, { consumer: 'motion' }).value(), 2)
  t.equal(registry.gauge(KernelMetric.cameraLastFrameAge).value(), 12.5)
  t.equal(registry.gauge(KernelMetric.cameraAiLocked).value(), 1)

  // Looking again without change adds nothing.
  upkeep.update()
  t.equal(delivered('motion'), 100, 'a second look at the same books adds nothing')

  // The books shrink for a moment (a dead consumer's place not yet collected), then grow past the old mark.
  books = { ...books, motion: { delivered: 40, dropped: { motion_slow: 1 }, skipped: {}, lag: 0 } }
  upkeep.update()
  t.equal(delivered('motion'), 100, 'a counter never goes down')
  books = { ...books, motion: { delivered: 130, dropped: { motion_slow: 4 }, skipped: { rate_limited: 7 }, lag: 0 } }
  ring = { slotCount: 10, slotsInUse: 0, noSlotDrops: 1 }
  camera = { last_frame_age_ms: null, ai_locked: false }
  upkeep.update()
  t.equal(delivered('motion'), 130, 'growth past the high-water mark is added once')
  t.equal(dropped('motion', 'slow'), 4)
  t.equal(skipped('motion', 'rate_limited'), 7)
  t.equal(registry.gauge(KernelMetric.ringOccupancy).value(), 0)
  t.equal(registry.gauge(KernelMetric.cameraLastFrameAge).value(), 12.5, 'an unknown age leaves the last known one')
  t.equal(registry.gauge(KernelMetric.cameraAiLocked).value(), 0)

  // A consumer the catalogue does not know is reported once and skipped.
  books = { ...books, stranger: { delivered: 5, dropped: {}, skipped: {}, lag: 0 } }
  upkeep.update()
  upkeep.update()
  t.same(unknown, ['heart.frames.delivered|consumer=stranger', 'heart.consumer.lag|consumer=stranger'])
})

t.test('a kernel with shared metrics keeps /metrics equal to /health, across a consumer restart and a consumer\'s fpsCap', async (t) => {
  const catalogue = kernelMetrics({ consumers: ['steady', 'thrower', 'capped'] })
  const registry = MetricsRegistry.create(catalogue)
  const kernel = new Kernel({
    supervisor: { restartInitialMs: 50 },
    metrics: { buffer: registry.buffer, catalogue },
    metricsUpkeepMs: 100,
  })
  t.teardown(() => kernel.stop())
  t.ok(kernel.metricsUpkeep, 'the kernel runs an upkeep when it has a registry')
  const layout = frameLayout(160, 120, 'yuv420p')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 4, defaultDepth: 8, maxDepth: 8 })
  kernel.startConsumer({ name: 'steady', entry: consumerEntry, ring: 'camera' })
  kernel.startConsumer({ name: 'thrower', entry: consumerEntry, ring: 'camera', app: { throwOnFrame: 15, crashFlag: 'crash' }, shared: { crash: new SharedArrayBuffer(4) } })
  // Frames come every 10 ms (100 fps); this one takes at most 20 a second and skips the rest.
  kernel.startConsumer({ name: 'capped', entry: consumerEntry, ring: 'camera', consumer: { fpsCap: 20 } })
  kernel.start()
  // Consumers turn active at the next publish.
  await waitFor(() => ring.consumerStats().filter((s) => s.state === 'active' || s.state === 'joining').length === 3)

  const producer = ring.producer()
  const crashed = new Promise<void>((resolve) => kernel.on('worker.crashed', () => resolve()))
  let published = 0
  const produce = setInterval(() => {
    const slot = producer.beginWrite()
    if (!slot) return
    const now = process.hrtime.bigint()
    producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: 160, height: 120, pixFmt: 'yuv420p', planes: layout.planes })
    published++
  }, 10)
  t.teardown(() => clearInterval(produce))
  await crashed
  // Let the restarted consumer rejoin and take frames, then stop producing and let everyone drain.
  await waitFor(() => (kernel.report().consumers['thrower']?.delivered ?? 0) > 30)
  clearInterval(produce)
  await waitFor(() => ring.consumerStats().every((s) => s.lag === 0))
  await sleep(300) // two upkeep periods

  const report = kernel.report()
  const sum = (metric: string, name: string, reasons: readonly string[]): number =>
    reasons.reduce((total, reason) => total + registry.counter(metric, { consumer: name, reason }).value(), 0)
  for (const name of ['steady', 'thrower', 'capped']) {
    const books = report.consumers[name]!
    t.equal(registry.counter(KernelMetric.framesDelivered, { consumer: name }).value(), books.delivered, `${name}: delivered agrees with /health`)
    const droppedTotal = sum(KernelMetric.framesDropped, name, LOSS_REASON_NAMES)
    t.equal(droppedTotal, Object.values(books.dropped).reduce((a, b) => a + b, 0), `${name}: drops agree with /health`)
    const skippedTotal = sum(KernelMetric.framesSkipped, name, SKIP_REASON_NAMES)
    t.equal(skippedTotal, Object.values(books.skipped).reduce((a, b) => a + b, 0), `${name}: skips agree with /health`)
    // The ring's invariant, read from the metrics: every frame published while it was joined is delivered, dropped or skipped.
    const deliveredMetric = registry.counter(KernelMetric.framesDelivered, { consumer: name }).value()
    t.equal(deliveredMetric + droppedTotal + skippedTotal, books.published, `${name}: delivered + dropped + skipped = published, in the metrics`)
  }
  const capped = report.consumers['capped']!
  t.ok((capped.skipped.rate_limited ?? 0) > capped.delivered, `the capped consumer skipped most frames as rate_limited (${JSON.stringify(capped.skipped)}, ${capped.delivered} delivered)`)
  t.equal(Object.values(capped.dropped).reduce((a, b) => a + b, 0), 0, 'and lost none: its skips are not drops')
  t.ok(published > 0, `${published} frames published`)
  t.ok((report.workers['thrower']?.crashes ?? 0) >= 1, 'the thrower did crash')
  const text = renderPrometheus(registry)
  t.match(text, /heart_frames_delivered_total\{consumer="steady"\} \d+/)
})
