// The vision workers under the real kernel: frames go through a real ring to
// real worker threads, and events come back through the kernel's queue.

import t from 'tap'
import { Kernel } from '@heart/kernel'
import { FrameFlags, frameLayout } from '@heart/ring'
import type { FrameRing } from '@heart/ring'
import { detectionService, motionService } from '../src/services.js'
import type { DetectionEventPayload, MotionEventPayload } from '../src/types.js'
import { drawFrame } from './frames.js'
import { Scene } from './scene.js'
import { startDeepStackServer } from './servers.js'
import { sleep, waitFor } from '@heart/telemetry/testing'

async function joined(ring: FrameRing, n: number): Promise<void> {
  // A consumer is 'joining' until the producer's next commit activates it.
  await waitFor(() => ring.consumerStats().filter((s) => s.state === 'active' || s.state === 'joining').length === n)
}

t.test('motion worker: boxes for a moving square arrive as motion events', async (t) => {
  const logs: string[] = []
  const kernel = new Kernel({ logger: { debug() {}, info: (m, f) => logs.push(`${m} ${JSON.stringify(f)}`), warn() {}, error() {} } })
  t.teardown(() => kernel.stop())
  const W = 640
  const H = 360
  const layout = frameLayout(W, H, 'gray')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 4, maxDepth: 8 })
  const events: MotionEventPayload[] = []
  kernel.on<MotionEventPayload>('motion', (e) => events.push(e.payload))
  // Depth 8 so the test sees every frame even on a busy machine.
  kernel.startConsumer(motionService({ ring: 'camera', consumer: { depth: 8 }, app: { detector: { minArea: 100 } } }))
  kernel.start()
  await joined(ring, 1)

  const scene = new Scene(W, H, { stride: layout.planes[0]!.stride })
  const producer = ring.producer()
  const truth = new Map<string, { x: number; y: number }>()
  for (let i = 0; i < 40; i++) {
    const slot = producer.beginWrite()
    t.ok(slot, 'a slot is free')
    if (!slot) continue
    const sq = i < 10 ? [] : [{ x: 50 + i * 8, y: 100 + i * 2, size: 48, luma: 240 }]
    scene.render(slot.bytes, sq)
    const now = process.hrtime.bigint()
    const seq = producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: W, height: H, pixFmt: 'gray', planes: layout.planes })
    if (sq[0]) truth.set(String(seq), { x: sq[0].x, y: sq[0].y })
    await sleep(15)
  }
  await waitFor(() => ring.consumerStats().every((s) => s.lag === 0))
  await sleep(100)
  const withBoxes = events.filter((e) => e.boxes.length > 0)
  t.ok(withBoxes.length >= 25, `${withBoxes.length} frames with motion`)
  let checked = 0
  for (const e of withBoxes) {
    const want = truth.get(e.seq)
    t.ok(want, `motion only where the square moves (seq ${e.seq})`)
    if (!want) continue
    t.equal(e.boxes.length, 1)
    const b = e.boxes[0]!
    t.ok(Math.abs(b.x - want.x) <= 4 && Math.abs(b.y - want.y) <= 4 && Math.abs(b.w - 48) <= 8, `seq ${e.seq}: ${JSON.stringify(b)} vs ${JSON.stringify(want)}`)
    t.type(e.captureTsNs, 'string')
    checked++
  }
  t.ok(checked >= 25)
  const configured = logs.find((l) => l.startsWith('motion detector configured'))
  t.match(configured, /"factor":2,"grid":"320x180"/, 'the slot is reduced to about inputWidth (320) by the block factor')
})

t.test('motion worker on yuv420p frames: finds the moving square, and nothing before it moves', async (t) => {
  const kernel = new Kernel({ logger: { debug() {}, info() {}, warn() {}, error() {} } })
  t.teardown(() => kernel.stop())
  const W = 640
  const H = 360
  const layout = frameLayout(W, H, 'yuv420p')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 4, maxDepth: 64 })
  const events: MotionEventPayload[] = []
  kernel.on<MotionEventPayload>('motion', (e) => events.push(e.payload))
  kernel.startConsumer(motionService({ ring: 'camera', consumer: { depth: 64 }, app: { detector: { minArea: 100 } } }))
  kernel.start()
  await joined(ring, 1)
  const scene = new Scene(W, H, { stride: layout.planes[0]!.stride })
  const producer = ring.producer()
  const truth = new Map<string, { x: number; y: number }>()
  for (let i = 0; i < 60; i++) {
    const slot = producer.beginWrite()
    if (!slot) continue
    const sq = i < 30 ? [] : [{ x: 50 + i * 6, y: 100 + i, size: 48, luma: 240 }]
    scene.render(slot.bytes, sq)
    const now = process.hrtime.bigint()
    const seq = producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: W, height: H, pixFmt: 'yuv420p', planes: layout.planes })
    if (sq[0]) truth.set(String(seq), { x: sq[0].x, y: sq[0].y })
    await sleep(15)
  }
  await waitFor(() => ring.consumerStats().every((s) => s.lag === 0))
  await sleep(100)
  const late = events.filter((e) => e.boxes.length > 0 && truth.has(e.seq))
  t.ok(late.length >= 20, `${late.length} of 30 frames with the moving square have motion`)
  for (const e of late) {
    const want = truth.get(e.seq)!
    const b = e.boxes[0]!
    if (!(Math.abs(b.x - want.x) <= 4 && Math.abs(b.y - want.y) <= 4)) t.fail(`seq ${e.seq}: ${JSON.stringify(b)} vs ${JSON.stringify(want)}`)
  }
  t.notOk(events.some((e) => e.boxes.length > 0 && !truth.has(e.seq)), 'no motion before the square moves')
})

t.test('motion worker: an unreadable pixel format crashes it with a clear reason, and it is restarted', async (t) => {
  const kernel = new Kernel({ supervisor: { restartInitialMs: 50 } })
  t.teardown(() => kernel.stop())
  const layout = frameLayout(64, 48, 'rgb24')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2 })
  const crashes: { reason: string }[] = []
  kernel.on<{ reason: string }>('worker.crashed', (e) => crashes.push(e.payload))
  kernel.startConsumer(motionService({ ring: 'camera', app: {} }))
  kernel.start()
  await joined(ring, 1)
  const producer = ring.producer()
  const slot = producer.beginWrite()!
  const now = process.hrtime.bigint()
  producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: 64, height: 48, pixFmt: 'rgb24', planes: layout.planes })
  await waitFor(() => crashes.length === 1)
  t.match(crashes[0]!.reason, /motion detector cannot read pixel format "rgb24"/)
  await waitFor(() => kernel.supervisor.status('movement_detector').state === 'running')
})

t.test('detection worker: detections as events; AI-locked and slow frames counted in health; motion alongside loses nothing', async (t) => {
  const server = await startDeepStackServer()
  t.teardown(() => server.close())
  const kernel = new Kernel()
  t.teardown(() => kernel.stop())
  const W = 640
  const H = 360
  const layout = frameLayout(W, H, 'yuv420p')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 2, maxDepth: 16 })
  // The movement detector reads the same frames; it must not suffer from the slow service.
  kernel.startConsumer(motionService({ ring: 'camera', consumer: { depth: 16 }, app: {} }))
  const detections: DetectionEventPayload[] = []
  kernel.on<DetectionEventPayload>('detection', (e) => detections.push(e.payload))
  kernel.startConsumer(
    detectionService({
      ring: 'camera',
      consumer: { depth: 4 },
      app: { protocol: 'deepstack', deepstack: { url: server.url, imageFormat: 'bmp', maxWidth: 320 }, fps: 0, deadlineMs: 1000, maxInFlight: 1 },
    }),
  )
  kernel.start()
  await joined(ring, 2)
  const producer = ring.producer()
  const publish = (flags: number): void => {
    const slot = producer.beginWrite()!
    const f = drawFrame(W, H, 'yuv420p', { x: 200, y: 120, w: 80, h: 60 })
    slot.bytes.set(f.bytes)
    const now = process.hrtime.bigint()
    producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: W, height: H, pixFmt: 'yuv420p', planes: layout.planes, flags })
  }
  publish(0)
  await waitFor(() => detections.length === 1)
  const d = detections[0]!
  t.equal(d.detections[0]?.label, 'square')
  const box = d.detections[0]!.box
  t.ok(Math.abs(box.x - 200) <= 2 && Math.abs(box.y - 120) <= 2 && Math.abs(box.w - 80) <= 4, JSON.stringify(box))
  t.ok(d.latencyMs > 0)

  for (let i = 0; i < 3; i++) publish(FrameFlags.AI_LOCKED)
  // A service that hangs: the first frame waits out its deadline, the rest are skipped, not queued.
  server.mode = { kind: 'hang' }
  for (let i = 0; i < 6; i++) {
    publish(0)
    await sleep(30)
  }
  await waitFor(() => ring.consumerStats().every((s) => s.lag === 0))
  const books = kernel.report().consumers.detection_client!
  t.equal(books.skipped.ai_locked, 3, 'AI-locked frames are skipped and counted')
  t.ok((books.dropped.detection_client_slow ?? 0) >= 4, `busy frames counted as detection_client_slow: ${JSON.stringify(books.dropped)}`)
  const dropped = Object.values(books.dropped).reduce((a, b) => a + b, 0)
  const skipped = Object.values(books.skipped).reduce((a, b) => a + b, 0)
  t.equal(books.delivered + dropped + skipped, books.published, 'delivered + dropped + skipped = published')
  const motion = kernel.report().consumers.movement_detector!
  t.equal(motion.delivered, motion.published, 'the movement detector got every frame')
  t.same(Object.values(motion.dropped).filter((n) => n > 0), [], 'and dropped none')
})

t.test('detection worker: JPEG pictures from the native encoder when it is built', async (t) => {
  const native = await import('@heart/native').then((m: Record<string, unknown>) => typeof m.encodeJpeg === 'function', () => false)
  const server = await startDeepStackServer()
  t.teardown(() => server.close())
  const kernel = new Kernel()
  t.teardown(() => kernel.stop())
  const W = 1280
  const H = 720
  const layout = frameLayout(W, H, 'nv12')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2 })
  const detections: DetectionEventPayload[] = []
  kernel.on<DetectionEventPayload>('detection', (e) => detections.push(e.payload))
  const stats: { sent: number; succeeded: number }[] = []
  kernel.on<{ sent: number; succeeded: number }>('detection.stats', (e) => stats.push(e.payload))
  kernel.startConsumer(detectionService({ ring: 'camera', app: { protocol: 'deepstack', deepstack: { url: server.url, maxWidth: 640 }, fps: 0, statsEveryMs: 50 } }))
  kernel.start()
  await joined(ring, 1)
  const producer = ring.producer()
  const slot = producer.beginWrite()!
  slot.bytes.set(drawFrame(W, H, 'nv12', { x: 100, y: 100, w: 50, h: 50 }).bytes)
  const now = process.hrtime.bigint()
  producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: W, height: H, pixFmt: 'nv12', planes: layout.planes })
  await waitFor(() => detections.length === 1)
  await waitFor(() => stats.some((x) => x.succeeded === 1))
  t.match(stats.at(-1), { sent: 1, succeeded: 1, skipped: { detection_client_slow: 0 } }, 'periodic detection.stats events')
  const req = server.requests[0]!
  if (native) {
    t.equal(req.imageType, 'image/jpeg')
    t.same([req.imageWidth, req.imageHeight], [640, 360])
    // The JPEG answer is the quarter box of the picture, scaled back x2.
    t.same(detections[0]!.detections[0]!.box, { x: 320, y: 180, w: 320, h: 180 })
  } else {
    t.equal(req.imageType, 'image/bmp', 'without the addon the worker falls back to BMP')
  }
})
