import t from 'tap'
import { SampleWindow } from '../src/sample-window.js'

t.test('SampleWindow keeps the latest samples and gives nearest-rank percentiles', async (t) => {
  const w = new SampleWindow(100)
  t.same(w.percentiles(50, 99), [null, null], 'empty: null for each')
  t.equal(w.percentile(50), null)
  t.equal(w.max(), null)
  for (let i = 1; i <= 100; i++) w.add(i)
  t.same(w.percentiles(50, 99, 100, 0), [50, 99, 100, 1])
  t.equal(w.percentile(99), 99)
  t.equal(w.max(), 100)
  // The window slides: the oldest samples are replaced.
  for (let i = 0; i < 50; i++) w.add(1000)
  t.equal(w.size, 100)
  t.equal(w.percentile(50), 100, 'half the window is now 1000s')
  t.equal(w.percentile(51), 1000)
  w.clear()
  t.equal(w.size, 0)
  t.same(w.percentiles(50), [null])
})

t.test('SampleWindow refuses an empty capacity', async (t) => {
  t.throws(() => new SampleWindow(0), RangeError)
})
