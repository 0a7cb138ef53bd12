import t from 'tap'
import { FrameRing, RING_MAGIC, RING_VERSION, requiredSlotCount } from '../src/index.js'
import { publishPattern, smallRing } from './helpers.js'

t.test('create sizes the pool by the iceoryx rule and never grows', async (t) => {
  const ring = smallRing()
  t.equal(ring.slotCount, requiredSlotCount(4, 4, 1))
  t.equal(ring.slotCount, 4 * (4 + 1) + 2)
  const bytes = ring.buffer.byteLength
  const p = ring.producer()
  const c = ring.consumer('a')
  for (let i = 0; i < 100; i++) {
    publishPattern(p)
    const lease = c.tryAcquire()
    if (lease) c.release(lease)
  }
  t.equal(ring.buffer.byteLength, bytes)
  t.equal(ring.stats().noSlotDrops, 0)
})

t.test('options are validated with the allowed range in the message', async (t) => {
  t.throws(() => FrameRing.create({ slotBytes: 0 }), { message: /slotBytes must be an integer from 1/ })
  t.throws(() => FrameRing.create({ slotBytes: 64, maxConsumers: 33 }), { message: /maxConsumers must be an integer from 1 to 32/ })
  t.throws(() => FrameRing.create({ slotBytes: 64, maxConsumers: 2, slotCount: 3 }), { message: /slotCount must be an integer from/ })
  t.throws(() => FrameRing.create({ slotBytes: 64, defaultDepth: 4, maxDepth: 2 }), { message: /maxDepth/ })
})

t.test('attach shares the same buffer and refuses foreign ones', async (t) => {
  const ring = smallRing()
  const other = FrameRing.attach(ring.buffer)
  t.equal(other.slotCount, ring.slotCount)
  publishPattern(ring.producer())
  t.equal(other.published(), 1n)

  t.throws(() => FrameRing.attach(new ArrayBuffer(1024)), { code: 'RING_LAYOUT_MISMATCH', message: /SharedArrayBuffer/ })
  t.throws(() => FrameRing.attach(new SharedArrayBuffer(16)), { message: /too small/ })
  t.throws(() => FrameRing.attach(new SharedArrayBuffer(4096)), { message: /not a frame ring \(magic 0x0/ })

  const copy = new SharedArrayBuffer(ring.buffer.byteLength)
  new Uint8Array(copy).set(new Uint8Array(ring.buffer))
  const header = new Int32Array(copy)
  header[1] = RING_VERSION + 1
  t.throws(() => FrameRing.attach(copy), { message: new RegExp(`layout version ${RING_VERSION + 1} does not match this build's version ${RING_VERSION}`) })
  header[1] = RING_VERSION
  t.equal(header[0], RING_MAGIC)
  const truncated = new SharedArrayBuffer(ring.buffer.byteLength - 64)
  new Uint8Array(truncated).set(new Uint8Array(ring.buffer, 0, truncated.byteLength))
  t.throws(() => FrameRing.attach(truncated), { message: /header describes/ })
})

t.test('stats report occupancy, epoch and per-consumer accounting', async (t) => {
  const ring = smallRing()
  const p = ring.producer()
  const a = ring.consumer('alpha', { depth: 2 })
  t.equal(ring.consumerStats()[0]!.state, 'joining')
  publishPattern(p)
  publishPattern(p)
  const stats = ring.stats()
  t.equal(stats.published, 2n)
  t.equal(stats.slotsInUse, 2)
  t.equal(stats.epoch, 0)
  t.equal(p.bumpEpoch(), 1)
  t.equal(ring.epoch(), 1)
  const s = stats.consumers[0]!
  t.match(s, { name: 'alpha', state: 'active', published: 2n, delivered: 0n, lag: 2, depth: 2 })
  t.same(Object.keys(s.dropped).sort(), ['ai_locked', 'alpha_slow', 'rate_limited', 'reclaimed', 'stale'])
  const lease = a.tryAcquire()!
  t.equal(ring.consumerStats()[0]!.leases, 1)
  a.release(lease)
  t.ok(ring.stats().lastPublishTsNs > 0n)
  t.ok(ring.publishTick() >= 2)
})

t.test('queued(index): the frames waiting for one consumer, 0 for a place nobody holds', async (t) => {
  const ring = FrameRing.create({ slotBytes: 64, maxConsumers: 2, defaultDepth: 4, maxDepth: 4 })
  const consumer = ring.consumer('watched')
  t.equal(ring.queued(consumer.index), 0)
  t.equal(ring.queued(1), 0, 'a free place')
  const producer = ring.producer()
  for (let i = 0; i < 3; i++) {
    const slot = producer.beginWrite()!
    producer.commit(slot, { captureTsNs: 1n, decodeTsNs: 1n, width: 8, height: 8, pixFmt: 'gray', planes: [{ offset: 0, stride: 8, width: 8, height: 8 }] })
  }
  t.equal(ring.queued(consumer.index), 3)
  consumer.release(consumer.tryAcquire()!)
  t.equal(ring.queued(consumer.index), 2)
  consumer.leave()
  t.equal(ring.queued(consumer.index), 0, 'gone: nothing waits for it')
})
