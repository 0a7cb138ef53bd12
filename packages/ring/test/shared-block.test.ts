import t from 'tap'
import { Worker } from 'node:worker_threads'
import { RingError, SharedBlock, defineSharedBlock } from '../src/index.js'
import { testBlockLayout } from './fixtures/shared-block-layout.js'

t.test('named fields get fixed, aligned, non-overlapping places after the header', async (t) => {
  const layout = defineSharedBlock({ name: 'layout block', magic: 0x4c41594f, version: 1, i32: ['state', 'width', 'height'], f64: ['fps', 'last'], strings: { codec: 10, error: 64 } })
  t.same(layout.i32, { state: 4, width: 5, height: 6 }, 'Int32 words follow the 4 header words')
  t.same(layout.f64, { fps: 4, last: 5 }, 'Float64 slots start at the next 8-byte boundary (byte 32)')
  t.same(layout.strings.codec, { offset: 48, capacity: 10 })
  t.same(layout.strings.error, { offset: 64, capacity: 64 }, 'strings are length-prefixed and 4-aligned')
  t.equal(layout.tailOffset, 136, 'the tail starts 8-aligned after the last field')
  t.throws(() => defineSharedBlock({ name: 'twice', magic: 1, version: 1, i32: ['a', 'a'] }), /field a is declared twice/)

  const block = SharedBlock.create(layout, 100)
  t.equal(block.buffer.byteLength, 136 + 104, 'the tail is rounded up to 8 bytes')
  t.equal(block.tailBytes, 104)
  block.beginWrite()
  block.i32[layout.i32.width] = 1920
  block.f64[layout.f64.fps] = 29.97
  block.writeString('codec', 'h264')
  block.writeString('error', 'a message in ünïcödé')
  block.endWrite()
  const other = SharedBlock.attach(layout, block.buffer)
  t.same(other.snapshot((b) => [b.i32[layout.i32.width], b.f64[layout.f64.fps], b.readString('codec'), b.readString('error')]), [1920, 29.97, 'h264', 'a message in ünïcödé'])
  block.writeString('codec', 'a codec name longer than ten bytes')
  t.equal(other.readString('codec'), 'a codec na', 'cut at the capacity')
  block.writeString('codec', 'ééééééé')
  t.equal(other.readString('codec'), 'ééééé', 'never in the middle of a character')
})

t.test('attach refuses another kind, another version or a wrong length with a named error', async (t) => {
  const block = SharedBlock.create(testBlockLayout)
  const otherKind = defineSharedBlock({ name: 'other block', magic: 0x4f544852, version: 3, i32: ['a', 'b'], f64: ['x', 'y'], strings: { label: 24 } })
  const newerBuild = defineSharedBlock({ name: 'test block', magic: 0x54455354, version: 4, i32: ['a', 'b'], f64: ['x', 'y'], strings: { label: 24 } })
  const refusal = (fn: () => unknown): unknown => {
    try {
      fn()
    } catch (error) {
      return error
    }
    return null
  }
  const wrongMagic = refusal(() => SharedBlock.attach(otherKind, block.buffer))
  t.ok(wrongMagic instanceof RingError)
  t.match(wrongMagic, { code: 'RING_SHARED_BLOCK_MISMATCH', message: /^other block: wrong magic 0x54455354 \(expected 0x4f544852\)/ })
  t.match(refusal(() => SharedBlock.attach(newerBuild, block.buffer)), { code: 'RING_SHARED_BLOCK_MISMATCH', message: /^test block: layout version 3, this build reads version 4/ })
  t.match(refusal(() => SharedBlock.attach(testBlockLayout, new ArrayBuffer(256))), { code: 'RING_SHARED_BLOCK_MISMATCH', message: /not a SharedArrayBuffer \(got ArrayBuffer\)/ })
  t.match(refusal(() => SharedBlock.attach(testBlockLayout, new SharedArrayBuffer(8))), { code: 'RING_SHARED_BLOCK_MISMATCH', message: /only 8 bytes/ })
  const longer = new SharedArrayBuffer(block.buffer.byteLength + 8)
  new Uint8Array(longer).set(new Uint8Array(block.buffer))
  t.match(refusal(() => SharedBlock.attach(testBlockLayout, longer)), { code: 'RING_SHARED_BLOCK_MISMATCH', message: /does not match its header/ })
  t.match(refusal(() => SharedBlock.attach(testBlockLayout, new SharedArrayBuffer(block.buffer.byteLength))), { message: /wrong magic 0x00000000/, code: 'RING_SHARED_BLOCK_MISMATCH' }, 'a zeroed buffer is no block')

  const own = defineSharedBlock({ name: 'own', magic: 0x4f574e21, version: 1, refuse: (problem) => Object.assign(new Error(problem), { code: 'MY_CODE' }) })
  t.match(refusal(() => SharedBlock.attach(own, block.buffer)), { code: 'MY_CODE', message: /wrong magic/ }, 'a block may report refusals with its own code')
})

t.test('a seqlock snapshot is never torn under a concurrent writer in another thread', async (t) => {
  const block = SharedBlock.create(testBlockLayout)
  t.notOk(block.written(), 'nothing written yet')
  const stop = new SharedArrayBuffer(4)
  const worker = new Worker(new URL('./fixtures/shared-block-writer.js', import.meta.url), { workerData: { buffer: block.buffer, stop } })
  const messages: unknown[] = []
  const finished = new Promise<number>((resolve, reject) => {
    worker.on('message', (m: unknown) => {
      messages.push(m)
      if (typeof m === 'number') resolve(m)
    })
    worker.once('error', reject)
  })
  await new Promise<void>((resolve) => {
    const wait = (): void => {
      if (messages.length > 0 && block.written()) resolve()
      else setTimeout(wait, 1)
    }
    wait()
  })
  const L = testBlockLayout
  let snapshots = 0
  let lapped = 0
  let torn = 0
  let last = 0
  let backwards = 0
  const started = Date.now()
  while (Date.now() - started < 1500) {
    const snap = block.snapshot((b) => [b.i32[L.i32.a]!, b.f64[L.f64.x]!, b.i32[L.i32.b]!, b.f64[L.f64.y]!, b.readString('label')] as const, 50)
    if (snap === null) {
      lapped++
      continue
    }
    snapshots++
    const [a, x, b, y, label] = snap
    const n = Number(/^(?:even|odd) (\d+)/.exec(label)?.[1])
    if (a !== x || a !== b || a !== y || a !== n || label !== (n % 2 === 0 ? `even ${n}` : `odd ${n} ${'·'.repeat(n % 7)}`)) torn++
    if (a < last) backwards++
    last = a
  }
  Atomics.store(new Int32Array(stop), 0, 1)
  const writes = await finished
  await worker.terminate()
  t.comment(`${snapshots} snapshots (${lapped} lapped) during ${writes} writes`)
  t.ok(writes > 1000 && last > 0, 'the writer really ran concurrently')
  t.ok(snapshots > 1000, 'the reader got consistent snapshots')
  t.equal(torn, 0, 'no snapshot mixes two writes')
  t.equal(backwards, 0, 'snapshots never go back in time')

  // Without the seqlock the same reads do tear: proof the test can fail.
  const raw = SharedBlock.create(testBlockLayout)
  const stopRaw = new SharedArrayBuffer(4)
  const rawWorker = new Worker(new URL('./fixtures/shared-block-writer.js', import.meta.url), { workerData: { buffer: raw.buffer, stop: stopRaw } })
  const rawDone = new Promise<number>((resolve, reject) => {
    rawWorker.on('message', (m: unknown) => {
      if (typeof m === 'number') resolve(m)
    })
    rawWorker.once('error', reject)
  })
  let rawTorn = 0
  // The window opens once the writer writes: a worker can take seconds to start on a loaded box
  // (a CI run once saw none in a 3 s window that began before it).
  const writing = Date.now()
  while (raw.i32[L.i32.a] === 0 && Date.now() - writing < 20_000) await new Promise((r) => setTimeout(r, 5))
  const rawStarted = Date.now()
  while (rawTorn === 0 && Date.now() - rawStarted < 10_000) {
    if (raw.i32[L.i32.a] !== raw.f64[L.f64.y]) rawTorn++
  }
  Atomics.store(new Int32Array(stopRaw), 0, 1)
  await rawDone
  await rawWorker.terminate()
  t.ok(rawTorn > 0, 'unguarded reads of the same block see torn writes')
})

t.test('a writer that died mid-write does not wedge the next writer', async (t) => {
  const block = SharedBlock.create(testBlockLayout)
  block.beginWrite() // and never ends: a crashed worker
  t.equal(block.snapshot(() => 'read', 10), null, 'readers see no consistent state while the write is open')
  const restarted = SharedBlock.attach(testBlockLayout, block.buffer)
  restarted.beginWrite()
  restarted.i32[testBlockLayout.i32.a] = 7
  restarted.endWrite()
  t.equal(block.snapshot((b) => b.i32[testBlockLayout.i32.a]), 7, 'the restarted writer completes writes readers accept')
})
