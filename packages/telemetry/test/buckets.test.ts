import t from 'tap'
import { BucketScheme } from '../src/buckets.js'

t.test('default scheme spans 1 µs..100 s (in ms) with 32 slices per octave', async (t) => {
  const s = new BucketScheme()
  t.equal(s.octaves, 27)
  t.equal(s.bucketCount, 27 * 32 + 2)
  t.equal(s.indexOf(0), 0)
  t.equal(s.indexOf(-5), 0)
  t.equal(s.indexOf(0.0009), 0)
  t.equal(s.indexOf(0.001), 1)
  t.equal(s.indexOf(1e6), s.overflowIndex)
})

t.test('every value lands in a bucket whose bounds contain it, at most 1/32 wide', async (t) => {
  const s = new BucketScheme()
  let worst = 0
  let failures = 0
  for (let v = 0.001; v < 100_000; v *= 1.0137) {
    const i = s.indexOf(v)
    const lo = s.lowerBound(i)
    const hi = s.upperBound(i)
    // Allow one ulp-level slack at the bound.
    if (!(v >= lo * (1 - 1e-12) && v < hi * (1 + 1e-12))) failures++
    worst = Math.max(worst, (hi - lo) / lo)
  }
  t.equal(failures, 0, 'bounds contain the value')
  t.ok(worst <= 1 / 32 + 1e-12, `worst relative width ${worst}`)
})

t.test('bucket indices increase with the value', async (t) => {
  const s = new BucketScheme({ lowest: 1, highest: 1 << 20, subBuckets: 8 })
  let last = -1
  let backwards = 0
  for (let v = 0; v < 1 << 20; v += 37) {
    const i = s.indexOf(v)
    if (i < last) backwards++
    last = i
  }
  t.equal(backwards, 0)
  t.equal(s.lowerBound(s.indexOf(1 << 19)), 1 << 19)
})

t.test('bad options get clear errors', async (t) => {
  t.throws(() => new BucketScheme({ lowest: 0 }), /lowest must be a positive/)
  t.throws(() => new BucketScheme({ lowest: 1, highest: 1 }), /highest must be finite and greater/)
  t.throws(() => new BucketScheme({ subBuckets: 12 }), /power of two/)
  t.throws(() => new BucketScheme({ lowest: 1e-9, highest: 1e9 }), /at most 31 fit/)
})
