import t from 'tap'
import { Durations } from '../src/durations.js'

t.test('percentiles over the kept window', async (t) => {
  const d = new Durations(100)
  t.ok(Number.isNaN(d.percentile(0.5)), 'empty: NaN')
  for (let i = 1; i <= 100; i++) d.record(i)
  t.equal(d.percentile(0.5), 50)
  t.equal(d.percentile(0.99), 99)
  t.equal(d.percentile(1), 100)
  t.equal(d.max(), 100)
  // The window slides: the oldest samples are replaced.
  for (let i = 0; i < 50; i++) d.record(1000)
  t.equal(d.size, 100)
  t.equal(d.percentile(0.5), 100, 'half the window is now 1000s')
  t.equal(d.percentile(0.51), 1000)
  d.clear()
  t.equal(d.size, 0)
})
