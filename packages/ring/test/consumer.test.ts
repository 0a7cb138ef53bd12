import t from 'tap'
import { DropReason, FrameFlags, RingError } from '../src/index.js'
import { publishPattern, smallRing } from './helpers.js'

t.test('a consumer gets frames in order, in place, from the newest on', async (t) => {
  const ring = smallRing()
  const p = ring.producer()
  publishPattern(p) // before anyone joined: nobody gets it
  const c = ring.consumer('reader')
  t.equal(c.tryAcquire(), null)
  const slot = p.beginWrite()!
  slot.bytes.fill(7, 0, 128)
  void slot.aux.length // no aux words in this ring
  p.commit(slot, { captureTsNs: 10n, decodeTsNs: 11n, width: 16, height: 8, pixFmt: 'gray', planes: [{ offset: 0, stride: 64, width: 16, height: 8 }] })
  const lease = c.tryAcquire()!
  t.equal(lease.seq, 1n, 'the newcomer starts at the frame published after it joined')
  t.equal(lease.captureTsNs, 10n)
  t.equal(lease.decodeTsNs, 11n)
  t.ok(lease.publishTsNs > 0n)
  t.equal(lease.bytes[0], 7)
  t.equal(lease.bytes.buffer, ring.buffer, 'pixels are a view of the shared buffer, not a copy')
  t.equal(lease.byteLength, 512)
  c.release(lease)
  const stats = ring.consumerStats()[0]!
  t.equal(stats.published, 1n)
  t.equal(stats.delivered, 1n)
})

t.test('a slow consumer loses its oldest frames, for itself only', async (t) => {
  const ring = smallRing()
  const p = ring.producer()
  const slow = ring.consumer('slow', { depth: 2 })
  const fast = ring.consumer('fast', { depth: 2 })
  const fastSeqs: bigint[] = []
  for (let i = 0; i < 10; i++) {
    publishPattern(p)
    const l = fast.tryAcquire()!
    fastSeqs.push(l.seq)
    fast.release(l)
  }
  t.same(fastSeqs, [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n])
  const got: bigint[] = []
  for (let l = slow.tryAcquire(); l; l = slow.tryAcquire()) {
    got.push(l.seq)
    slow.release(l)
  }
  t.same(got, [8n, 9n], 'the two newest frames survive')
  const [s, f] = ring.consumerStats()
  t.equal(s!.dropped.slow_slow, 8n)
  t.equal(s!.delivered + s!.dropped.slow_slow!, s!.published)
  t.equal(f!.dropped.fast_slow, 0n)
  t.equal(ring.stats().slotsInUse, 0)
})

t.test('leases are bounded, owned and released once', async (t) => {
  const ring = smallRing({ maxLeases: 2 })
  const p = ring.producer()
  const c = ring.consumer('holder', { maxLeases: 2, depth: 4 })
  const other = ring.consumer('other')
  for (let i = 0; i < 3; i++) publishPattern(p)
  const a = c.tryAcquire()!
  const b = c.tryAcquire()!
  t.equal(c.leaseCount, 2)
  t.throws(() => c.tryAcquire(), { code: 'RING_LEASE_LIMIT', message: /already holds 2 frame leases/ })
  c.release(a)
  t.throws(() => c.release(a), { code: 'RING_FOREIGN_LEASE' })
  const o = other.tryAcquire()!
  t.throws(() => c.release(o), RingError)
  other.release(o)
  c.release(b)
  t.throws(() => ring.consumer('x', { maxLeases: 3 }), { message: /maxLeases must be an integer from 1 to 2/ })
})

t.test('a leased slot is never handed to the producer', async (t) => {
  const ring = smallRing()
  const p = ring.producer()
  const c = ring.consumer('keeper', { depth: 1 })
  publishPattern(p)
  const kept = c.tryAcquire()!
  for (let i = 0; i < ring.slotCount * 3; i++) {
    const slot = p.beginWrite()!
    t.not(slot.index, kept.slot)
    p.abort(slot)
    publishPattern(p)
  }
  t.equal(kept.seq, 0n)
  c.release(kept)
})

t.test('frame-rate cap, AI-lock skip and staleness count as their own reasons', async (t) => {
  const ring = smallRing({ maxDepth: 4 })
  const p = ring.producer()
  const capped = ring.consumer('capped', { fpsCap: 30, depth: 4 })
  const ai = ring.consumer('detector', { skipAiLocked: true, depth: 4 })
  const stale = ring.consumer('late', { maxAgeMs: 1, depth: 4 })
  const start = 1_000_000_000n
  const frameNs = 16_666_667n // 60 fps
  for (let i = 0n; i < 4n; i++) publishPattern(p, i === 1n ? FrameFlags.AI_LOCKED : 0, start + i * frameNs)
  const cappedSeqs: bigint[] = []
  for (let l = capped.tryAcquire(); l; l = capped.tryAcquire()) {
    cappedSeqs.push(l.seq)
    capped.release(l)
  }
  t.same(cappedSeqs, [0n, 2n], '60 fps capped at 30 keeps every other frame')
  const aiSeqs: bigint[] = []
  for (let l = ai.tryAcquire(); l; l = ai.tryAcquire()) {
    aiSeqs.push(l.seq)
    ai.release(l)
  }
  t.same(aiSeqs, [0n, 2n, 3n])
  t.equal(stale.tryAcquire(), null, 'frames captured long ago are stale')
  const stats = Object.fromEntries(ring.consumerStats().map((s) => [s.name, s]))
  t.equal(stats.capped!.dropped.rate_limited, 2n)
  t.equal(stats.detector!.dropped.ai_locked, 1n)
  t.equal(stats.late!.dropped.stale, 4n)
  for (const s of Object.values(stats)) {
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0n)
    t.equal(s.delivered + dropped, s.published, `${s.name}: delivered + dropped = published`)
  }
})

t.test('capped and AI-lock-skipping consumers never lose frames to a full queue', async (t) => {
  const ring = smallRing()
  const p = ring.producer()
  // Depth 1: if skipped frames were queued, every other frame would overflow as _slow.
  const capped = ring.consumer('capped', { fpsCap: 30, depth: 1 })
  ring.consumer('skipper', { skipAiLocked: true, depth: 1 })
  const got: bigint[] = []
  for (let i = 0n; i < 12n; i++) {
    publishPattern(p, i >= 6n ? FrameFlags.AI_LOCKED : 0, 1_000_000_000n + i * 16_666_667n)
    for (let l = capped.tryAcquire(); l; l = capped.tryAcquire()) {
      got.push(l.seq)
      capped.release(l)
    }
  }
  t.same(got, [0n, 2n, 4n, 6n, 8n, 10n])
  const stats = Object.fromEntries(ring.consumerStats().map((s) => [s.name, s]))
  t.equal(stats.capped!.dropped.capped_slow, 0n)
  t.equal(stats.capped!.dropped.rate_limited, 6n)
  t.equal(stats.skipper!.dropped.ai_locked, 6n, 'locked frames skipped at publish')
  t.equal(stats.skipper!.dropped.skipper_slow, 5n, 'the unlocked frames it never read overflowed its depth-1 queue')
  t.equal(stats.skipper!.lag, 1)
})

t.test('a ring with fewer slots than the worst case refuses a consumer that would not fit', async (t) => {
  const ring = smallRing({ slotCount: 8 }) // 6 slots for consumers' queues and leases
  ring.consumer('first', { depth: 3 }) // 3 + 1 lease
  t.throws(() => ring.consumer('second', { depth: 2 }), {
    code: 'RING_SLOTS_EXHAUSTED',
    message: /consumer "second" needs 3 slots \(depth 2 \+ 1 lease\(s\)\) but only 2 of the ring's 6 consumer slots are left/,
  })
  ring.consumer('third', { depth: 1 })
  t.throws(() => smallRing({ slotCount: 3 }), { message: /slotCount must be an integer from 4/ })
})

t.test('discard counts a taken frame under a reason instead of delivered', async (t) => {
  const ring = smallRing()
  const p = ring.producer()
  const c = ring.consumer('busy')
  publishPattern(p)
  c.discard(c.tryAcquire()!, DropReason.SLOW)
  const s = ring.consumerStats()[0]!
  t.equal(s.delivered, 0n)
  t.equal(s.dropped.busy_slow, 1n)
})

t.test('join and leave at run time; dead consumers are reclaimed', async (t) => {
  const ring = smallRing()
  const p = ring.producer()
  const a = ring.consumer('a')
  publishPattern(p)
  publishPattern(p)
  const held = a.tryAcquire()!
  t.equal(ring.stats().slotsInUse, 2)
  a.leave()
  t.notOk(a.active)
  t.throws(() => a.tryAcquire(), { code: 'RING_CONSUMER_CLOSED' })
  t.throws(() => a.release(held), { code: 'RING_FOREIGN_LEASE' }, 'leave released the lease')
  publishPattern(p)
  t.match(ring.consumerStats(), [{ name: 'a', state: 'retired', published: 2n, delivered: 1n }], 'reclaimed, books kept')
  t.equal(ring.stats().slotsInUse, 0)
  const retired = ring.collectRetired()
  t.equal(retired.length, 1)
  t.equal(retired[0]!.dropped.reclaimed, 1n, 'the frame still queued when it left')
  t.equal(ring.consumerStats().length, 0, 'collected: the place is free again')
  t.same(ring.collectRetired(), [])

  const b = ring.consumer('b')
  const joining = ring.consumer('never_active')
  joining.leave()
  t.equal(ring.consumerStats().filter((s) => s.name === 'never_active').length, 0)
  publishPattern(p)
  publishPattern(p)
  const lease = b.tryAcquire()!
  t.ok(lease)
  // The thread that owns b dies while holding a lease and a queued frame.
  t.equal(ring.markThreadDead(ring.consumerStats()[0]!.threadId), 1)
  const deadStats = ring.consumerStats()[0]!
  t.equal(deadStats.state, 'dead')
  p.service()
  t.equal(ring.stats().slotsInUse, 0, 'its lease and queue were reclaimed')
  const [final] = ring.consumerStats()
  t.match(final, { name: 'b', state: 'retired', published: 2n, delivered: 1n })
  t.equal(final!.dropped.reclaimed, 1n)
  t.throws(() => b.tryAcquire(), { code: 'RING_CONSUMER_CLOSED' })
  // With every other place taken, a newcomer reuses the retired place.
  ring.consumer('c2')
  ring.consumer('c3')
  ring.consumer('c4')
  ring.consumer('c5')
  t.throws(() => ring.consumer('c6'), { code: 'RING_FULL_OF_CONSUMERS' })
})

t.test('consumer names, depths and the consumer limit are validated', async (t) => {
  const ring = smallRing({ maxConsumers: 2 })
  t.throws(() => ring.consumer('Bad Name'), { message: /lower-case letters/ })
  t.throws(() => ring.consumer('x'.repeat(40)), { message: /at most 32 bytes/ })
  t.throws(() => ring.consumer('deep', { depth: 9 }), { message: /depth must be an integer from 1 to 4/ })
  t.throws(() => ring.consumer('fps', { fpsCap: 0 }), { message: /fpsCap must be a positive number/ })
  ring.consumer('one')
  ring.consumer('two')
  t.throws(() => ring.consumer('three'), { code: 'RING_FULL_OF_CONSUMERS' })
})

t.test('blocking and async waits wake on publish and time out', async (t) => {
  const ring = smallRing()
  const p = ring.producer()
  const c = ring.consumer('waiter')
  t.equal(c.acquire(5), null, 'times out when nothing comes')
  t.equal(await c.acquireAsync(5), null)
  setTimeout(() => publishPattern(p), 5)
  const lease = await c.acquireAsync(2000)
  t.ok(lease, 'woken by the publish')
  c.release(lease!)
  publishPattern(p)
  const now = c.acquire(1000)
  t.equal(now!.seq, 1n)
  c.release(now!)
})
