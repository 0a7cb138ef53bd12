import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import t from 'tap'
import { JpegShare } from '../src/jpeg-share.js'
import { H_MAGIC, H_VERSION, S_GEN, shareLayout, slotHeaderByte } from '../src/share-layout.js'
import type { EncodedFrame } from '../src/types.js'
import { fakeFrame } from './helpers/frames.js'
import { matchesPattern } from './fixtures/pattern.js'

t.test('write then readLatest returns a private copy with the metadata', async (t) => {
  const share = JpegShare.create(4096)
  t.equal(share.readLatest(), null, 'nothing before the first write')
  const frame = fakeFrame(12, 3000)
  share.write(frame.jpeg, frame.meta)
  const read = share.readLatest()!
  t.ok(read.jpeg.equals(frame.jpeg))
  t.same(read.meta, frame.meta)
  t.equal(share.published(), 1)
  const second = fakeFrame(13, 100)
  share.write(second.jpeg, second.meta)
  t.ok(read.jpeg.equals(frame.jpeg), 'an earlier copy is not touched by later writes')
  t.equal(share.readLatest()!.meta.seq, 13n)
  const third = fakeFrame(14, 4096)
  share.write(third.jpeg, third.meta)
  t.ok(share.readLatest()!.jpeg.equals(third.jpeg), 'slots alternate and a full-size JPEG fits')
})

t.test('a writer that died mid-write does not leave a slot unreadable or mislabelled', async (t) => {
  const share = JpegShare.create(4096)
  share.write(fakeFrame(1).jpeg, fakeFrame(1).meta) // slot 0
  // Slot 1 as a crashed writer left it: generation odd, bytes half written.
  const i32 = new Int32Array(share.buffer)
  const gen1 = slotHeaderByte(1) / 4 + S_GEN
  i32[gen1] = 7
  t.equal(share.readLatest()!.meta.seq, 1n, 'readers still get the last complete frame')
  share.write(fakeFrame(2).jpeg, fakeFrame(2).meta) // the next writer takes slot 1
  t.equal(i32[gen1]! % 2, 0, 'the slot is complete (even) again')
  t.ok(i32[gen1]! > 7, 'and its generation moved past the stale odd value')
  t.equal(share.readLatest()!.meta.seq, 2n)
})

t.test('bad input gets clear errors', async (t) => {
  t.throws(() => JpegShare.create(10), { code: 'STREAM_SHARE' })
  const share = JpegShare.create(2048)
  t.throws(() => share.write(Buffer.alloc(4096), fakeFrame(1).meta), { code: 'STREAM_JPEG_TOO_LARGE', message: /4096 bytes does not fit the 2048-byte/ })
  t.throws(() => JpegShare.attach(new ArrayBuffer(1024)), { code: 'STREAM_SHARE', message: /not a SharedArrayBuffer/ })
  t.throws(() => JpegShare.attach(new SharedArrayBuffer(16)), { code: 'STREAM_SHARE', message: /only 16 bytes/ })
  const wrongMagic = new SharedArrayBuffer(share.buffer.byteLength)
  t.throws(() => JpegShare.attach(wrongMagic), { code: 'STREAM_SHARE', message: /magic/ })
  const copy = new SharedArrayBuffer(share.buffer.byteLength)
  new Uint8Array(copy).set(new Uint8Array(share.buffer))
  new Int32Array(copy)[H_VERSION] = 99
  t.throws(() => JpegShare.attach(copy), { message: /layout version 99/ })
  new Int32Array(copy)[H_VERSION] = shareLayout.version
  t.ok(JpegShare.attach(copy), 'a well-formed copy attaches')
  const short = new SharedArrayBuffer(share.buffer.byteLength - 8)
  new Int32Array(short)[H_MAGIC] = new Int32Array(share.buffer)[H_MAGIC]!
  new Int32Array(short)[H_VERSION] = shareLayout.version
  new Int32Array(short)[3] = 2048
  t.throws(() => JpegShare.attach(short), { message: /length does not match/ })
})

t.test('pump delivers new frames and stops', async (t) => {
  const share = JpegShare.create(4096)
  const got: EncodedFrame[] = []
  let wake: (() => void) | null = null
  const stop = share.pump((f) => {
    got.push(f)
    wake?.()
  })
  const next = () => new Promise<void>((r) => (wake = r))
  let p = next()
  share.write(fakeFrame(1).jpeg, fakeFrame(1).meta)
  await p
  p = next()
  share.write(fakeFrame(2).jpeg, fakeFrame(2).meta)
  await p
  t.same(got.map((f) => f.meta.seq), [1n, 2n])
  stop()
  share.write(fakeFrame(3).jpeg, fakeFrame(3).meta)
  await new Promise((r) => setTimeout(r, 20))
  t.equal(got.length, 2, 'nothing after stop')
})

t.test('a throwing listener is reported and the pump goes on', async (t) => {
  const share = JpegShare.create(4096)
  const errors: unknown[] = []
  const seqs: bigint[] = []
  const stop = share.pump(
    (f) => {
      seqs.push(f.meta.seq)
      if (f.meta.seq === 1n) throw new Error('listener bug')
    },
    (err) => errors.push(err),
  )
  t.teardown(stop)
  share.write(fakeFrame(1).jpeg, fakeFrame(1).meta)
  while (errors.length === 0) await new Promise((r) => setTimeout(r, 1))
  share.write(fakeFrame(2).jpeg, fakeFrame(2).meta)
  while (seqs.length < 2) await new Promise((r) => setTimeout(r, 1))
  t.match(errors, [{ message: 'listener bug' }])
  t.same(seqs, [1n, 2n])
})

t.test('no torn read while a worker thread writes as fast as it can', async (t) => {
  const share = JpegShare.create(128 * 1024)
  const count = 3000
  const worker = new Worker(new URL('./fixtures/share-writer-worker.js', import.meta.url), {
    workerData: { buffer: share.buffer, count },
  })
  t.teardown(() => worker.terminate())
  const exited = once(worker, 'exit')
  let reads = 0
  let torn = 0
  let lastSeq = 0n
  let backwards = 0
  let done = false
  void exited.then(() => (done = true))
  while (!done) {
    // Tight synchronous reads race the writer; yield now and then so 'exit' can arrive.
    for (let i = 0; i < 200; i++) {
      const frame = share.readLatest()
      if (!frame) continue
      reads++
      const seq = Number(frame.meta.seq)
      const m = frame.meta
      const consistent =
        matchesPattern(seq, frame.jpeg) &&
        m.captureTsNs === BigInt(seq) * 1000n &&
        m.srcWidth === seq &&
        m.srcHeight === seq + 1 &&
        m.width === frame.jpeg.length &&
        m.flags === (seq & 7)
      if (!consistent) torn++
      if (frame.meta.seq < lastSeq) backwards++
      lastSeq = frame.meta.seq
    }
    await new Promise((r) => setImmediate(r))
  }
  const [code] = (await exited) as [number]
  t.equal(code, 0, 'the writer finished')
  t.ok(reads > 100, `the reader raced the writer (${reads} reads)`)
  t.equal(torn, 0, 'every read frame is whole: bytes and metadata from one write')
  t.equal(backwards, 0, 'reads never go back in time')
  t.equal(share.readLatest()!.meta.seq, BigInt(count), 'the last write is what remains')
})
