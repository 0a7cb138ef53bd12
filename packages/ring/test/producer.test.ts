import t from 'tap'
import { FrameRing, frameLayout } from '../src/index.js'
import { publishPattern, smallRing } from './helpers.js'
import { S_HOLDERS, SLOT_I32_WORDS } from '../src/layout.js'

t.test('commit writes metadata, aux values and bumps the published count', async (t) => {
  const layout = frameLayout(32, 24, 'grayf32')
  const ring = FrameRing.create({ slotBytes: layout.byteLength, maxConsumers: 1, auxWords: 3 })
  const p = ring.producer()
  const c = ring.consumer('thermal_view')
  const slot = p.beginWrite()!
  new Float32Array(slot.bytes.buffer, slot.bytes.byteOffset, 768).fill(21.5)
  const seq = p.commit(slot, {
    captureTsNs: 5n,
    decodeTsNs: 6n,
    width: 32,
    height: 24,
    pixFmt: 'grayf32',
    planes: layout.planes,
    aux: [24.25, 19.0, 36.6],
  })
  t.equal(seq, 0n)
  t.equal(ring.published(), 1n)
  const lease = c.tryAcquire()!
  t.same(Array.from(lease.aux), [24.25, 19.0, 36.6])
  t.equal(lease.pixFmt, 'grayf32')
  t.equal(new Float32Array(lease.bytes.buffer, lease.bytes.byteOffset, 768)[767], 21.5)
  c.release(lease)
})

t.test('commit refuses frames that do not fit and slots not being written', async (t) => {
  const ring = smallRing()
  const p = ring.producer()
  const slot = p.beginWrite()!
  t.throws(() => p.beginWrite(), { message: /beginWrite\(\) called twice/ })
  t.throws(
    () => p.commit(slot, { captureTsNs: 0n, decodeTsNs: 0n, width: 1920, height: 1080, pixFmt: 'gray', planes: frameLayout(1920, 1080, 'gray').planes }),
    { code: 'RING_FRAME_TOO_LARGE', message: /does not fit a 512-byte slot/ },
  )
  t.throws(() => p.commit({ ...slot, index: slot.index + 1 }, { captureTsNs: 0n, decodeTsNs: 0n, width: 1, height: 1, pixFmt: 'gray', planes: [] }), {
    message: /not the one being written/,
  })
  t.throws(() => p.abort({ ...slot, index: slot.index + 1 }), { message: /not the one being written/ })
  const five = [0, 1, 2, 3, 4].map(() => ({ offset: 0, stride: 64, width: 1, height: 1 }))
  t.throws(() => p.commit(slot, { captureTsNs: 0n, decodeTsNs: 0n, width: 1, height: 1, pixFmt: 'gray', planes: five }), { message: /at most 4 planes/ })
  p.abort(slot)
  t.ok(publishPattern(p) !== null)
})

t.test('with consumers over their lease limit the producer drops instead of blocking', async (t) => {
  // One consumer, depth 1, 1 lease: the rule asks for 4 slots.
  const ring = FrameRing.create({ slotBytes: 512, maxConsumers: 1, defaultDepth: 1, maxDepth: 1, slotCount: 4 })
  const p = ring.producer()
  ring.consumer('c')
  for (let i = 0; i < 10; i++) publishPattern(p)
  t.equal(ring.stats().noSlotDrops, 0, 'the sizing rule holds with a well-behaved consumer')
  // Fill every slot by hand (simulating a consumer that ignores its limits).
  const held = []
  for (let s = p.beginWrite(); s; s = p.beginWrite()) {
    held.push(s.index)
    // The public API cannot exceed its limits, so misbehave through the views.
    Atomics.or(ring.views.slots, s.index * SLOT_I32_WORDS + S_HOLDERS, 2)
    p.abort(s)
  }
  t.equal(held.length, ring.slotCount - 1, 'all free slots were taken; one holds the queued frame')
  t.equal(p.beginWrite(), null)
  t.equal(ring.stats().noSlotDrops, 2)
})
