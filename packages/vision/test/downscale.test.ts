import t from 'tap'
import { downscaleAverage, downscaleSample } from './js-grid/downscale.js'
import { boxBlur, dilate } from './js-grid/filters.js'

function reference(src: Uint8Array, offset: number, stride: number, f: number, gw: number, gh: number): Uint8Array {
  const out = new Uint8Array(gw * gh)
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      let s = 0
      for (let y = 0; y < f; y++) for (let x = 0; x < f; x++) s += src[offset + (gy * f + y) * stride + gx * f + x]!
      out[gy * gw + gx] = Math.round(s / (f * f))
    }
  }
  return out
}

t.test('block averages match a plain reference for every factor (unrolled and generic paths)', async (t) => {
  const W = 101
  const H = 67
  const stride = 128
  const offset = 5
  const src = new Uint8Array(offset + stride * H)
  for (let i = 0; i < src.length; i++) src[i] = (i * 37 + (i >> 7) * 11) & 255
  for (const f of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const gw = Math.floor(W / f)
    const gh = Math.floor(H / f)
    const got = new Uint8Array(gw * gh)
    downscaleAverage(src, offset, stride, f, gw, gh, new Uint32Array(gw), got)
    const want = reference(src, offset, stride, f, gw, gh)
    let worst = 0
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!))
    t.ok(worst <= 1, `factor ${f}: off by at most one level (fixed-point rounding), got ${worst}`)
  }
  const sampled = new Uint8Array(4)
  downscaleSample(src, offset, stride, 4, 2, 2, sampled)
  t.equal(sampled[3], src[offset + 6 * stride + 6], 'sample mode reads block centres')
})

t.test('blur and dilate on a single point', async (t) => {
  const w = 7
  const h = 5
  const one = new Uint8Array(w * h)
  one[2 * w + 3] = 1
  const d = new Uint8Array(w * h)
  dilate(one, w, h, 1, new Uint8Array(w * h), new Uint32Array(w), d)
  t.equal(d.reduce((a, b) => a + b, 0), 9, 'a 3x3 square')
  t.equal(d[1 * w + 2], 1)
  t.equal(d[0 * w + 3], 0)
  const img = new Uint8Array(w * h)
  img[2 * w + 3] = 90
  const out = new Uint8Array(w * h)
  boxBlur(img, w, h, 1, new Uint16Array(w * h), new Uint32Array(w), out)
  t.equal(out[2 * w + 3], 10)
  t.equal(out[1 * w + 2], 10)
  t.equal(out[0], 0)
  boxBlur(img, w, h, 0, new Uint16Array(w * h), new Uint32Array(w), out)
  t.equal(out[2 * w + 3], 90, 'radius 0 copies')
  // From a padded plane: 2 bytes of offset, rows of 10.
  const padded = new Uint8Array(2 + 10 * h)
  for (let y = 0; y < h; y++) padded.set(img.subarray(y * w, y * w + w), 2 + y * 10)
  const fromPadded = new Uint8Array(w * h)
  boxBlur(padded, w, h, 1, new Uint16Array(w * h), new Uint32Array(w), fromPadded, 2, 10)
  boxBlur(img, w, h, 1, new Uint16Array(w * h), new Uint32Array(w), out)
  t.same(fromPadded, out, 'a padded source blurs the same')
  boxBlur(padded, w, h, 0, new Uint16Array(w * h), new Uint32Array(w), fromPadded, 2, 10)
  t.same(fromPadded, img, 'and copies the same')
})

t.test('blur and dilate match plain references on random grids, edges included', async (t) => {
  let seed = 7
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 8) & 255
  for (const [w, h] of [
    [13, 9],
    [40, 3],
    [2, 17],
  ] as const) {
    const img = Uint8Array.from({ length: w * h }, rand)
    const bits = Uint8Array.from({ length: w * h }, () => (rand() < 20 ? 1 : 0))
    for (const r of [1, 2, 3]) {
      const out = new Uint8Array(w * h)
      boxBlur(img, w, h, r, new Uint16Array(w * h), new Uint32Array(w), out)
      const dil = new Uint8Array(w * h)
      dilate(bits, w, h, r, new Uint8Array(w * h), new Uint32Array(w), dil)
      let blurErr = 0
      let dilErr = 0
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let s = 0
          let any = 0
          for (let dy = -r; dy <= r; dy++) {
            for (let dx = -r; dx <= r; dx++) {
              const cx = Math.min(w - 1, Math.max(0, x + dx))
              const cy = Math.min(h - 1, Math.max(0, y + dy))
              s += img[cy * w + cx]!
              if (x + dx >= 0 && x + dx < w && y + dy >= 0 && y + dy < h) any |= bits[(y + dy) * w + x + dx]!
            }
          }
          blurErr = Math.max(blurErr, Math.abs(out[y * w + x]! - Math.round(s / (2 * r + 1) ** 2)))
          if (dil[y * w + x] !== any) dilErr++
        }
      }
      t.ok(blurErr <= 1, `blur ${w}x${h} r=${r}: worst ${blurErr}`)
      t.equal(dilErr, 0, `dilate ${w}x${h} r=${r}`)
    }
  }
})
