// The ring's safety proof under real parallelism: one producer and six
// consumers in their own worker threads, one of them slow, one of them dying
// while it holds a lease. No torn or stale frame may ever be delivered, every
// consumer's books must balance, and the slow one's drops touch no one else.
import t from 'tap'
import { Worker } from 'node:worker_threads'
import { FrameRing, frameLayout } from '../src/index.js'

const FRAMES = 2000
const WIDTH = 256
const HEIGHT = 128

interface Result {
  role: string
  name?: string
  delivered?: number
  torn?: number
  stale?: number
  published?: number
  noSlot?: number
}

function start(job: object): { worker: Worker; done: Promise<Result> } {
  const worker = new Worker(new URL('./fixtures/stress-worker.js', import.meta.url), { workerData: job })
  const done = new Promise<Result>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  return { worker, done }
}

t.test('1 producer, 6 consumer threads (one slow, one dying): no torn frames, exact books', async (t) => {
  const layout = frameLayout(WIDTH, HEIGHT, 'gray')
  const ring = FrameRing.create({ slotBytes: layout.byteLength, maxConsumers: 6, defaultDepth: 4, maxDepth: 64, maxLeases: 1, auxWords: 2 })
  const poolBytes = ring.buffer.byteLength
  const control = new SharedArrayBuffer(4)
  const common = { buffer: ring.buffer, control, frames: FRAMES, width: WIDTH, height: HEIGHT }
  const consumers = [
    { role: 'fast', name: 'fast_a', depth: 64 },
    { role: 'fast', name: 'fast_b', depth: 64 },
    { role: 'fast', name: 'fast_c', depth: 64 },
    { role: 'fast', name: 'fast_d', depth: 64 },
    { role: 'slow', name: 'slow', depth: 2 },
  ].map((c) => start({ ...common, ...c }))
  const dying = start({ ...common, role: 'dies', name: 'doomed', depth: 64 })
  const workers = [...consumers.map((c) => c.worker), dying.worker]
  t.teardown(() => Promise.all(workers.map((w) => w.terminate())))

  // Wait for all six to be registered before producing.
  while (ring.consumerStats().length < 6) await new Promise((r) => setTimeout(r, 5))
  const producer = start({ ...common, role: 'producer', name: 'producer', depth: 64 })
  workers.push(producer.worker)

  const dyingThread = dying.worker.threadId
  await t.rejects(dying.done, /crashed on purpose/)
  t.equal(ring.markThreadDead(dyingThread), 1, 'the supervisor declares the dead thread dead')

  const produced = await producer.done
  t.equal(produced.published, FRAMES)
  t.equal(produced.noSlot, 0, 'the producer always found a free slot: the pool never ran dry')
  Atomics.store(new Int32Array(control), 0, 1)
  const results = await Promise.all(consumers.map((c) => c.done))

  for (const r of results) {
    t.equal(r.torn, 0, `${r.name}: no torn frame`)
    t.equal(r.stale, 0, `${r.name}: frames in strictly increasing seq, none stale`)
  }
  // The producer thread is gone: a new producer reclaims the departed consumers.
  ring.producer().service()
  const stats = new Map(ring.collectRetired().map((s) => [s.name, s]))
  t.same([...stats.keys()].sort(), ['doomed', 'fast_a', 'fast_b', 'fast_c', 'fast_d', 'slow'])
  const doomed = stats.get('doomed')!
  t.equal(doomed.delivered, 50n, 'the dead consumer’s books survive its death')
  t.equal(doomed.delivered + Object.values(doomed.dropped).reduce((a, b) => a + b, 0n), doomed.published)
  t.equal(ring.stats().slotsInUse, 0, 'every slot is free again: nothing leaked, including the dead consumer’s lease')
  t.equal(ring.buffer.byteLength, poolBytes, 'memory stays at the pool size')
  t.equal(ring.stats().noSlotDrops, 0)

  for (const r of results) {
    const s = stats.get(r.name!)
    t.ok(s, `${r.name} books are readable`)
    if (!s) continue
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0n)
    t.equal(s.delivered + dropped, s.published, `${r.name}: delivered + dropped = published`)
    t.equal(Number(s.delivered), r.delivered, `${r.name}: the ring's count matches what the thread saw`)
    if (r.role === 'fast') t.equal(dropped, 0n, `${r.name}: the slow consumer cost it nothing (${JSON.stringify(s.dropped, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))})`)
    else t.ok(s.dropped.slow_slow! > 0n, 'the slow consumer lost frames, counted as slow_slow')
  }
})
