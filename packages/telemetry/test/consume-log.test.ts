import t from 'tap'
import { ConsumeLog, type ConsumeRecord } from '../src/index.js'
import { CONSUME_LOG_LAYOUT } from '../src/consume-log.js'

const drainAll = (log: ConsumeLog): ConsumeRecord[] => {
  const out: ConsumeRecord[] = []
  log.drain((r) => out.push(r))
  return out
}

t.test('records written in any order come out in claim order, once', async (t) => {
  const log = ConsumeLog.create(8)
  const reader = ConsumeLog.attach(log.buffer)
  const writer = ConsumeLog.attach(log.buffer)
  writer.write(0, 60, 1_000_000_000n, 1_002_000_000n, 0.25)
  writer.write(2, 60, 1_000_100_000n, 1_000_900_000n, 0.3)
  const first = drainAll(reader)
  t.same(first, [
    { consumer: 0, seq: 60, startNs: 1_000_000_000, endNs: 1_002_000_000, queueMs: 0.25 },
    { consumer: 2, seq: 60, startNs: 1_000_100_000, endNs: 1_000_900_000, queueMs: 0.3 },
  ])
  t.same(drainAll(reader), [], 'a second drain finds nothing new')
  writer.write(1, 2 ** 40 + 7, 5n, 6n, 0)
  t.equal(drainAll(reader)[0]!.seq, 2 ** 40 + 7, 'seqs above 32 bits survive')
})

t.test('a reader a whole log behind skips what was overwritten', async (t) => {
  const log = ConsumeLog.create(4)
  const reader = ConsumeLog.attach(log.buffer)
  for (let i = 0; i < 10; i++) log.write(0, i, BigInt(i), BigInt(i + 1), 0)
  t.same(drainAll(reader).map((r) => r.seq), [6, 7, 8, 9], 'only the newest records-worth')
})

t.test('a record claimed but not yet published waits for the next drain', async (t) => {
  const log = ConsumeLog.create(4)
  const reader = ConsumeLog.attach(log.buffer)
  const words = new Int32Array(log.buffer)
  log.write(0, 1, 1n, 2n, 0)
  // Simulate a writer that claimed the next record and has not stored its stamp yet.
  Atomics.add(words, CONSUME_LOG_LAYOUT.i32.write, 1)
  t.same(drainAll(reader).map((r) => r.seq), [1])
  t.same(drainAll(reader), [], 'the unfinished record is not handed out')
})

t.test('bad buffers and sizes get clear errors', async (t) => {
  t.throws(() => ConsumeLog.create(0), { code: 'CONSUME_LOG', message: /from 1 to 65536/ })
  t.throws(() => ConsumeLog.attach(new SharedArrayBuffer(64)), /wrong magic/)
  t.throws(() => ConsumeLog.attach(new SharedArrayBuffer(4)), /at least 16 bytes/)
})
