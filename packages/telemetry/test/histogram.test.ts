import t from 'tap'
import { Histogram, HistogramSnapshot, HistogramWindow } from '../src/histogram.js'

function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]!
}

// A deterministic PRNG so failures reproduce.
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

t.test('empty histogram', async (t) => {
  const h = new Histogram()
  const s = h.snapshot()
  t.equal(s.count, 0)
  t.equal(s.sum, 0)
  t.ok(Number.isNaN(s.percentile(50)))
  t.ok(Number.isNaN(s.max))
  t.ok(Number.isNaN(s.min))
  t.ok(Number.isNaN(s.mean))
})

t.test('percentiles stay within 1.6 % of the exact ones on a log-normal sample', async (t) => {
  const h = new Histogram()
  const rand = lcg(42)
  const values: number[] = []
  for (let i = 0; i < 20000; i++) {
    // Box-Muller: log-normal around 8 ms, like decode times.
    const z = Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand())
    const v = Math.exp(Math.log(8) + 0.6 * z)
    values.push(v)
    h.record(v)
  }
  values.sort((a, b) => a - b)
  const s = h.snapshot()
  t.equal(s.count, values.length)
  for (const p of [1, 10, 50, 90, 99, 99.9]) {
    const exact = exactPercentile(values, p)
    const got = s.percentile(p)
    t.ok(Math.abs(got - exact) / exact <= 0.016, `p${p}: got ${got}, exact ${exact}`)
  }
  const exactSum = values.reduce((a, b) => a + b, 0)
  t.ok(Math.abs(s.sum - exactSum) <= values.length * 0.0005 + 1e-9, `sum ${s.sum} vs ${exactSum}`)
  t.ok(Math.abs(s.max - values.at(-1)!) <= 0.001, `max ${s.max} vs ${values.at(-1)}`)
  t.ok(Math.abs(s.min - values[0]!) <= 0.001, `min ${s.min} vs ${values[0]}`)
  t.equal(s.percentile(100), s.max)
  t.equal(s.percentile(0), s.percentile(0.0001))
})

t.test('underflow, overflow, NaN and negatives', async (t) => {
  const h = new Histogram({ lowest: 1, highest: 1000 })
  h.record(NaN)
  t.equal(h.snapshot().count, 0, 'NaN is ignored')
  h.record(-4)
  h.record(0.2)
  h.record(5000)
  const s = h.snapshot()
  t.equal(s.count, 3)
  t.equal(s.counts[0], 2)
  t.equal(s.counts[s.counts.length - 1], 1)
  t.equal(s.percentile(100), 5000, 'overflow percentile reports the max')
  t.equal(s.min, 0)
})

t.test('two histograms over the same region share state; bad regions are refused', async (t) => {
  const bytes = Histogram.byteLength()
  t.equal(bytes % 8, 0)
  const buffer = new SharedArrayBuffer(bytes + 64)
  const a = new Histogram({}, { buffer, byteOffset: 64 })
  const b = new Histogram({}, { buffer, byteOffset: 64 })
  a.record(3)
  b.record(5)
  t.equal(a.snapshot().count, 2)
  t.equal(b.snapshot().sum, 8)
  t.throws(() => new Histogram({}, { buffer, byteOffset: 128 }), { code: 'HISTOGRAM_MEMORY' })
  t.throws(() => new Histogram({}, { buffer, byteOffset: 2 }), /multiple of 4/)
  a.reset()
  t.equal(b.snapshot().count, 0)
})

t.test('snapshot differences give the distribution of the interval', async (t) => {
  const h = new Histogram()
  for (let i = 0; i < 1000; i++) h.record(1)
  const before = h.snapshot()
  for (let i = 0; i < 100; i++) h.record(50)
  const after = h.snapshot()
  const delta = after.minus(before)
  t.equal(delta.count, 100)
  t.ok(Math.abs(delta.percentile(50) - 50) / 50 < 0.016)
  t.ok(Math.abs(delta.sum - 5000) < 0.01)
  t.equal(delta.boundsExact, false)
  t.ok(delta.max >= 50 && delta.max <= 50 * (1 + 1 / 32))
  t.ok(delta.min <= 50 && delta.min >= 50 * (1 - 1 / 32))
  t.ok(after.percentile(50) < 1.02, 'since-start median still ~1')
  const empty = after.minus(after)
  t.equal(empty.count, 0)
  t.ok(Number.isNaN(empty.percentile(99)))
  const other = new Histogram({ subBuckets: 16 }).snapshot()
  t.throws(() => after.minus(other), { code: 'HISTOGRAM_SNAPSHOT' })
  t.throws(() => h.snapshot(other), /other bucket options/)
})

t.test('differences survive a u32 bucket wrap', async (t) => {
  const h = new Histogram()
  const a = h.snapshot()
  const b = new HistogramSnapshot(h.scheme)
  a.counts[5] = 0xfffffffe
  b.counts[5] = 3 // wrapped past 2^32
  b.count = 3
  t.equal(b.minus(a).counts[5], 5)
})

t.test('sliding window forgets old intervals', async (t) => {
  const h = new Histogram()
  const w = new HistogramWindow(h, 2)
  for (let i = 0; i < 100; i++) h.record(100)
  w.rotate()
  for (let i = 0; i < 100; i++) h.record(10)
  w.rotate()
  for (let i = 0; i < 100; i++) h.record(1)
  t.equal(w.snapshot().count, 300, 'two full intervals plus the current one')
  w.rotate()
  const s = w.snapshot()
  t.equal(s.count, 200, 'the 100 ms interval fell out')
  t.ok(s.max < 11)
  w.rotate()
  w.rotate()
  t.equal(w.snapshot().count, 0)
  t.ok(Number.isNaN(w.percentile(50)))
  t.throws(() => new HistogramWindow(h, 0), /whole number of intervals/)
})

t.test('cumulativeCount is cumulative and bucket-aligned', async (t) => {
  // lowest 1 puts bucket edges on powers of two, so the expectations are easy to read.
  const h = new Histogram({ lowest: 1, highest: 1e6 })
  for (const v of [0.5, 1, 2, 4, 8, 16]) h.record(v)
  const s = h.snapshot()
  t.equal(s.cumulativeCount(1e9), 6)
  t.equal(s.cumulativeCount(2.0001), 2, 'the bucket [2, 2.0625) has its middle above 2.0001')
  t.equal(s.cumulativeCount(4.2), 4)
  t.equal(s.cumulativeCount(4.01), 3, 'the bucket [4, 4.125) has its middle above 4.01')
  t.equal(s.cumulativeCount(4.07), 4, 'and below 4.07')
  h.record(1e9)
  t.equal(h.snapshot().cumulativeCount(1e12), 6, 'overflow is only in +Inf')
  t.equal(h.percentile(50), h.snapshot().percentile(50))
})
