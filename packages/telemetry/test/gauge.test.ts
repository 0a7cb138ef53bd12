import t from 'tap'
import { Gauge } from '../src/gauge.js'

t.test('set and read float64 values exactly', async (t) => {
  const g = new Gauge(new SharedArrayBuffer(32), 16)
  t.equal(g.value(), 0)
  for (const v of [1.5, -3.25, 1e300, Number.MIN_VALUE, 0.1 + 0.2]) {
    g.set(v)
    t.equal(g.value(), v)
  }
})

t.test('a reader that only sees an in-progress write gives up with the raw value', async (t) => {
  const buffer = new SharedArrayBuffer(16)
  const g = new Gauge(buffer, 0)
  g.set(7)
  Atomics.add(new Int32Array(buffer), 0, 1) // writer "stuck" mid-write
  t.equal(g.value(), 7)
})
