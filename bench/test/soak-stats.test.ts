import t from 'tap'
import { HistogramSnapshot, MetricsRegistry } from '@heart/telemetry'
import { HeartMetric, heartMetricsCatalogue } from '@heart/cli'
import { accumulate, SecondBySecond, spread } from '../src/soak-stats.js'

t.test('second by second: each next() holds only that second, pool() adds chosen seconds', async (t) => {
  const registry = MetricsRegistry.create(heartMetricsCatalogue({ consumers: [], thermal: false }))
  const h = registry.histogram(HeartMetric.loopTickInterval)
  const s = new SecondBySecond(h)
  for (let i = 0; i < 100; i++) h.record(5)
  const first = spread(s.next())
  t.equal(first.count, 100)
  t.ok(Math.abs(first.p99! - 5) < 0.1, `p99 ${first.p99}`)
  s.pool()
  for (let i = 0; i < 100; i++) h.record(40)
  const second = spread(s.next())
  t.equal(second.count, 100, 'only the new values')
  t.ok(second.p50! > 39, 'the second second is all 40 ms')
  // Not pooled: the steady figures keep only the first second.
  t.equal(s.steady.count, 100)
  t.ok(s.steady.percentile(99) < 5.1)
  t.equal(s.all.count, 200)
  t.ok(s.all.max >= 39)
  t.same(spread(s.next()), { p50: null, p99: null, max: null, count: 0 }, 'an empty second')
})

t.test('accumulate adds counts, sums and extremes', async (t) => {
  const registry = MetricsRegistry.create(heartMetricsCatalogue({ consumers: [], thermal: false }))
  const h = registry.histogram(HeartMetric.decodeDuration)
  h.record(1)
  h.record(2)
  const a = h.snapshot()
  const total = new HistogramSnapshot(h.scheme)
  accumulate(total, a)
  accumulate(total, a)
  t.equal(total.count, 4)
  t.ok(Math.abs(total.sum - 6) < 0.01)
  t.ok(Math.abs(total.max - 2) < 0.1)
  t.ok(Math.abs(total.min - 1) < 0.1)
})

t.test('steady drift: a shared slope over the steady stretches; steps between them do not count', async (t) => {
  const { steadyDrift } = await import('../src/soak-stats.js')
  // Flat with +/- 5 MB of GC noise, a 30 MB step inside a fault window, flat again.
  const noise = (i: number) => 5 * Math.sin(i * 2.3)
  const flat = Array.from({ length: 200 }, (_, i) => ({ t: i, value: (i < 100 ? 400 : 430) + noise(i), steady: i < 90 || i >= 110 }))
  const d = steadyDrift(flat)!
  t.ok(Math.abs(d.ratio) < 0.005, `no drift (${d.ratio})`)
  t.ok(Math.abs(d.base - 400) < 1, `base ${d.base}`)
  // A real leak: 0.1 MB a second over 180 steady seconds = 18 MB on 400.
  const leak = flat.map((p) => ({ ...p, value: p.value + 0.1 * p.t }))
  const l = steadyDrift(leak)!
  t.ok(Math.abs(l.ratio - 18 / 400) < 0.005, `drift ${l.ratio}`)
  t.ok(Math.abs(l.perMinute - 6) < 0.3, `${l.perMinute} MB a minute`)
  t.equal(steadyDrift(flat.slice(0, 10)), null, 'too few seconds')
})
