import t from 'tap'
import { frameLayout } from '@heart/ring'
import { Kernel } from '../src/index.js'
import { sleep, waitFor } from '@heart/telemetry/testing'

const consumerEntry = new URL('./fixtures/counting-consumer.js', import.meta.url)

t.test('a consumer that throws is restarted and the others lose no frame', async (t) => {
  const kernel = new Kernel({ supervisor: { restartInitialMs: 50 } })
  t.teardown(() => kernel.stop())
  const layout = frameLayout(320, 240, 'yuv420p')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 4, defaultDepth: 32, maxDepth: 32 })
  const crashFlag = new SharedArrayBuffer(4)
  const crashes: unknown[] = []
  kernel.on('worker.crashed', (e) => crashes.push(e.payload))
  for (const name of ['steady_a', 'steady_b', 'steady_c']) kernel.startConsumer({ name, entry: consumerEntry, ring: 'camera' })
  kernel.startConsumer({ name: 'thrower', entry: consumerEntry, ring: 'camera', app: { throwOnFrame: 20, crashFlag: 'crash' }, shared: { crash: crashFlag } })
  kernel.start()
  await waitFor(() => ring.consumerStats().filter((s) => s.state === 'active' || s.state === 'joining').length === 4)

  // Produce from the main thread at ~100 fps for a while.
  const producer = ring.producer()
  let published = 0
  const produce = setInterval(() => {
    const slot = producer.beginWrite()
    if (!slot) return
    slot.bytes.fill(published & 0xff, 0, layout.byteLength)
    const now = process.hrtime.bigint()
    producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: 320, height: 240, pixFmt: 'yuv420p', planes: layout.planes })
    published++
  }, 10)
  await waitFor(() => crashes.length === 1 && kernel.supervisor.status('thrower').state === 'running')
  await sleep(500) // frames keep flowing to the restarted thrower
  clearInterval(produce)
  await waitFor(() => ring.consumerStats().every((s) => s.lag === 0))

  const report = kernel.report()
  t.match(crashes[0], { service: 'thrower', reason: /threw on frame 20/ })
  t.equal(report.workers.thrower!.crashes, 1)
  t.equal(report.workers.thrower!.starts, 2, 'restarted once')
  // Workers report their heap right after they start (and every few seconds).
  for (const [name, w] of Object.entries(report.workers)) t.ok((w.heap_used_mb ?? 0) > 0 && w.heap_total_mb! >= w.heap_used_mb!, `${name}: heap ${w.heap_used_mb} of ${w.heap_total_mb} MB`)
  t.ok(report.memory.rss_mb > report.memory.main_heap_used_mb && report.memory.main_heap_used_mb > 0, `process RSS ${report.memory.rss_mb} MB`)
  t.equal(report.status, 'yellow', 'a crash turns health yellow')
  t.match(report.reasons.join(';'), /worker thrower crashed 1 time/)
  for (const name of ['steady_a', 'steady_b', 'steady_c']) {
    const c = report.consumers[name]!
    t.equal(c.published, published, `${name} saw every published frame`)
    t.equal(c.delivered, published, `${name} lost no frame`)
    t.same(Object.values(c.dropped).filter((n) => n > 0), [], `${name} has no drops`)
  }
  const thrower = report.consumers.thrower!
  const throwerDropped = Object.values(thrower.dropped).reduce((a, b) => a + b, 0)
  t.equal(thrower.delivered + throwerDropped, thrower.published, 'the thrower’s books balance across its two lives')
  t.ok(thrower.delivered >= 20, 'it received frames in both lives')
  t.equal(thrower.worker?.restarts, 1)
  t.equal(ring.stats().noSlotDrops, 0)
})

t.test('health goes red when the camera stalls, and reports the loop', async (t) => {
  let age: number | null = 100
  const kernel = new Kernel({ health: { redAfterMs: 1000 } })
  kernel.setCameraHealth(() => ({
    state: 'streaming',
    frames_per_s: 60,
    decode_ms_p50: 2,
    decode_ms_p99: 4,
    decode_ms_first_frame: 30,
    last_frame_age_ms: age,
    reopens_total: 0,
    decode_errors_total: 0,
    backend: 'software',
    ai_locked: false,
  }))
  kernel.setThermalHealth(() => ({ frames_per_s: 10, lost_total: 0, loss_ratio: 0 }))
  t.equal(kernel.report().status, 'green')
  age = 1500
  const red = kernel.report()
  t.equal(red.status, 'red')
  t.match(red.reasons[0], /last frame 1500 ms ago \(red after 1000 ms\)/)
  age = null
  t.match(kernel.report().reasons[0], /no frame received yet/)
  t.same(Object.keys(kernel.report().loop).sort(), ['late_ticks', 'lateness_ms_p99', 'tick_ms_max', 'tick_ms_p50', 'tick_ms_p99', 'work_ms_p99'])
  t.equal(kernel.report().thermal?.frames_per_s, 10)
  t.throws(() => kernel.startConsumer({ name: 'x', entry: consumerEntry, ring: 'nope' }), /no ring named "nope"/)
  await kernel.stop()
})

t.test('a camera that judges itself (capture) decides camera red / yellow', async (t) => {
  const kernel = new Kernel()
  let status: 'green' | 'yellow' | 'red' = 'yellow'
  const base = { state: 'streaming', frames_per_s: 60, decode_ms_p50: 2, decode_ms_p99: 4, decode_ms_first_frame: 30, reopens_total: 3, decode_errors_total: 0, backend: 'software', ai_locked: false }
  kernel.setCameraHealth(() => ({ ...base, last_frame_age_ms: status === 'red' ? 9000 : 10, status, last_error: 'TIMEOUT: no frame for 3000 ms' }))
  const yellow = kernel.report()
  t.equal(yellow.status, 'yellow')
  t.match(yellow.reasons, [/camera recovering after TIMEOUT/])
  status = 'green'
  t.equal(kernel.report().status, 'green', 'reopens long ago no longer count once the camera says green')
  status = 'red'
  t.match(kernel.report(), { status: 'red', reasons: [/last frame 9000 ms ago/] })
  await kernel.stop()
})

t.test('a status change is announced as a health.change event', async (t) => {
  const kernel = new Kernel({ loop: { periodMs: 2 } })
  let age = 10
  kernel.setCameraHealth(() => ({ state: 'streaming', frames_per_s: 60, decode_ms_p50: 1, decode_ms_p99: 2, decode_ms_first_frame: 5, last_frame_age_ms: age, reopens_total: 0, decode_errors_total: 0, backend: 'software', ai_locked: false }))
  const changes: unknown[] = []
  kernel.on('health.change', (e) => changes.push(e.payload))
  kernel.start()
  t.teardown(() => kernel.stop())
  age = 60_000
  const end = Date.now() + 5000
  while (changes.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  // The loop may be yellow first on a busy machine (tick p99); red must come.
  while (!changes.some((c) => (c as { to: string }).to === 'red') && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  t.match(changes.find((c) => (c as { to: string }).to === 'red'), { to: 'red', reasons: [/last frame 60000 ms ago \(red after 3000 ms\)/] }, 'the default red threshold applies')
})

t.test('SIGTERM stops the kernel and calls back', async (t) => {
  const kernel = new Kernel()
  kernel.start()
  const stopped = new Promise<string>((resolve) => kernel.installSignalHandlers((signal) => resolve(signal)))
  process.emit('SIGTERM')
  t.equal(await stopped, 'SIGTERM')
  t.notOk(kernel.loop.running)
})

t.test('a consumer leaving a second ring is not listed among the camera ring\'s consumers', async (t) => {
  const kernel = new Kernel({ supervisor: { restartInitialMs: 50 } })
  t.teardown(() => kernel.stop())
  const layout = frameLayout(64, 48, 'gray')
  const camera = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 2 })
  const other = kernel.createRing('thermal', { slotBytes: 1024, maxConsumers: 2, defaultDepth: 1 })
  const onCamera = camera.consumer('viewer', { depth: 1 })
  const onOther = other.consumer('live_view', { depth: 1 })
  kernel.start()
  const rings = [[camera.producer(), layout.byteLength], [other.producer(), 1024]] as const
  const publishOnEach = (): void => {
    for (const [producer, bytes] of rings) {
      const slot = producer.beginWrite()!
      const now = process.hrtime.bigint()
      producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: 64, height: bytes / 64, pixFmt: 'gray', planes: [{ offset: 0, stride: 64, width: 64, height: bytes / 64 }] })
    }
  }
  // One frame on each ring makes both consumers active members with books.
  publishOnEach()
  for (const consumer of [onCamera, onOther]) {
    const lease = consumer.tryAcquire()
    t.ok(lease, 'the consumer took its frame')
    if (lease) consumer.release(lease)
  }
  onOther.leave()
  onCamera.leave()
  publishOnEach() // the producers reclaim the places of consumers that left
  await sleep(100) // a few ticks: the kernel collects what left
  await kernel.stop()
  const listed = Object.keys(kernel.report().consumers)
  t.ok(listed.includes('viewer'), `the camera ring's consumer keeps its books after leaving (${listed.join(', ')})`)
  t.notOk(listed.includes('live_view'), 'the other ring\'s consumer is not a camera consumer')
})
