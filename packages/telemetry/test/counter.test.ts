import t from 'tap'
import { Counter } from '../src/counter.js'

t.test('adds and reads', async (t) => {
  const c = new Counter(new SharedArrayBuffer(16), 8)
  t.equal(c.value(), 0)
  c.add()
  c.add(41)
  t.equal(c.value(), 42)
  c.add(0)
  t.equal(c.value(), 42)
})

t.test('rejects decrements, fractions and NaN', async (t) => {
  const c = new Counter(new ArrayBuffer(8), 0)
  t.throws(() => c.add(-1), { code: 'COUNTER_INCREMENT' })
  t.throws(() => c.add(1.5), /whole numbers/)
  t.throws(() => c.add(NaN), /whole numbers/)
  t.equal(c.value(), 0)
})

t.test('a handle never reports a smaller value than before', async (t) => {
  const buffer = new SharedArrayBuffer(8)
  const c = new Counter(buffer, 0)
  c.add(10)
  t.equal(c.value(), 10)
  // Simulate the reader landing between a low-word wrap and its carry.
  new Int32Array(buffer)[0] = 3
  t.equal(c.value(), 10)
})
