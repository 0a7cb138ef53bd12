// The crate's per-cell stages (native/src/motion.rs) against the JavaScript
// ones they replaced (test/js-grid): the same inputs must give the same
// bytes, stage by stage and through the whole detector.

import t, { type Test } from 'tap'
import { MotionDetector } from '../src/motion.js'
import type { MotionOptions, MotionResult } from '../src/motion.js'
import { nativeMotionGrid } from '../src/native.js'
import type { MotionGridFactory } from '../src/native.js'
import { jsMotionGrid } from './js-grid/grid.js'
import { Scene } from './scene.js'

/** xorshift32, seeded: failures reproduce. */
function random(seed: number): () => number {
  let s = seed
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
}

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `at ${i}: ${a[i]} and ${b[i]}`
  return null
}

interface Buffers {
  cur: Uint8Array
  bg: Int32Array
  prev: Uint8Array
  fg: Uint8Array
  moving: Uint8Array
  hist: Uint32Array
  fgRows: Int32Array
  tally: Int32Array
  dil: Uint8Array
  dilRows: Uint8Array
  regions: Int32Array
  stuck: Uint16Array
}

function buffers(n: number, gh: number): Buffers {
  return {
    cur: new Uint8Array(n),
    bg: new Int32Array(n),
    prev: new Uint8Array(n),
    fg: new Uint8Array(n),
    moving: new Uint8Array(n),
    hist: new Uint32Array(511),
    fgRows: new Int32Array(gh),
    tally: new Int32Array(1),
    dil: new Uint8Array(n),
    dilRows: new Uint8Array(gh),
    regions: new Int32Array((n + 1) * 6),
    stuck: new Uint16Array(n),
  }
}

t.test('each stage gives the same bytes as the JavaScript reference', async (t) => {
  const rand = random(7)
  const cases = [
    { w: 1920, h: 1080, f: 6, sample: false, blur: 1, dil: 2 },
    { w: 1280, h: 720, f: 4, sample: false, blur: 2, dil: 3 },
    { w: 101, h: 67, f: 3, sample: false, blur: 1, dil: 2 },
    { w: 97, h: 61, f: 7, sample: false, blur: 0, dil: 0 },
    { w: 640, h: 480, f: 2, sample: true, blur: 1, dil: 1 },
    { w: 64, h: 40, f: 1, sample: false, blur: 1, dil: 2 },
    // A grid narrower than the filter windows: every cell is an edge cell.
    { w: 24, h: 12, f: 8, sample: false, blur: 3, dil: 4 },
    // Sparse changes (a high threshold), so the labelling has many regions to join and keep apart.
    { w: 640, h: 360, f: 2, sample: false, blur: 0, dil: 0, thr: 150 },
    { w: 960, h: 540, f: 3, sample: false, blur: 0, dil: 1, thr: 170 },
  ] as { w: number; h: number; f: number; sample: boolean; blur: number; dil: number; thr?: number }[]
  for (const c of cases) {
    const stride = c.w + 13
    const offset = 9
    const plane = new Uint8Array(offset + stride * c.h)
    for (let i = 0; i < plane.length; i++) plane[i] = (rand() * 256) | 0
    const gw = Math.floor(c.w / c.f)
    const gh = Math.floor(c.h / c.f)
    const n = gw * gh
    const grids = [nativeMotionGrid, jsMotionGrid].map((make) => make(c.w, c.h, c.f, c.sample, c.blur, c.dil))
    const bufs = [buffers(n, gh), buffers(n, gh)]
    const ignore = new Uint8Array(n)
    for (let i = 0; i < n; i++) ignore[i] = rand() < 0.1 ? 1 : 0
    // A background partly outside 0..255 levels (where the global shift can push it), and noisy previous frames.
    const bg = Int32Array.from({ length: n }, () => ((rand() * 300 - 20) * 256) | 0)
    const prev = Uint8Array.from({ length: n }, () => (rand() * 256) | 0)
    const stuck = Uint16Array.from({ length: n }, () => (rand() * 16) | 0)
    const name = `${c.w}x${c.h} f${c.f}${c.sample ? ' sample' : ''} blur ${c.blur} dilate ${c.dil} threshold ${c.thr ?? 25}`
    const changed: number[] = []
    const regions: number[] = []
    for (let k = 0; k < 2; k++) {
      const g = grids[k]!
      const b = bufs[k]!
      b.bg.set(bg)
      b.prev.set(prev)
      b.stuck.set(stuck)
      g.reduce(plane, offset, stride, b.cur)
      changed.push(g.compare(b.cur, b.bg, b.prev, ignore, c.thr ?? 25, b.fg, b.moving, b.hist, b.fgRows, b.tally))
      g.dilate(b.fg, b.fgRows, ignore, b.dil, b.dilRows)
      regions.push(g.label(b.dil, b.fg, b.moving, b.dilRows, b.fgRows, b.regions))
      g.learn(b.cur, b.bg, b.fg, b.dil, b.moving, b.stuck, 0.05, 0.0025, 15, -3)
    }
    t.equal(changed[0], changed[1], `${name}: changed cells`)
    t.ok(changed[0]! > 0, `${name}: some cells changed`)
    t.equal(regions[0], regions[1], `${name}: regions (${regions[0]})`)
    for (const key of Object.keys(bufs[0]!) as (keyof Buffers)[]) {
      t.equal(firstDifference(bufs[0]![key], bufs[1]![key]), null, `${name}: ${key}`)
    }
  }
})

function boxesOf(r: MotionResult): string {
  return JSON.stringify(r.boxes.slice(0, r.boxCount))
}

function sameDetections(t: Test, name: string, w: number, h: number, options: MotionOptions, frames: number, brightnessAt: (i: number) => number): void {
  const scene = new Scene(w, h, { stride: w + 32, offset: 16 })
  const buf = scene.allocate()
  const detectors = ([nativeMotionGrid, jsMotionGrid] as MotionGridFactory[]).map((g) => new MotionDetector(options, g))
  let reported = 0
  let mismatch: string | null = null
  for (let i = 0; i < frames && mismatch === null; i++) {
    const k = i % 40
    const squares = [
      { x: 20 + k * (w / 60), y: h / 4 + k * 2, size: Math.round(w / 10), luma: 230 },
      { x: w - w / 5 - k * (w / 100), y: h / 2, size: Math.round(w / 16), luma: 15 },
    ]
    scene.render(buf, i % 50 < 8 ? [] : squares, { noise: 10, brightness: brightnessAt(i) })
    const [a, b] = detectors.map((d) => {
      const r = d.processPlane(buf, { offset: scene.offset, stride: scene.stride, width: w, height: h })
      return { boxes: boxesOf(r), calibrating: r.calibrating, recalibrated: r.recalibrated, changed: r.changedFraction, moving: r.movingFraction, shift: r.shift }
    })
    if (JSON.stringify(a) !== JSON.stringify(b)) mismatch = `frame ${i}: native ${JSON.stringify(a)}, js ${JSON.stringify(b)}`
    if (a!.boxes !== '[]') reported++
  }
  t.equal(mismatch, null, `${name}: boxes, fractions, shift and calibration agree on every frame`)
  t.ok(reported > frames / 2, `${name}: motion reported on ${reported} of ${frames} frames`)
}

t.test('the detector reports the same boxes with either implementation', async (t) => {
  sameDetections(t, '1080p defaults', 1920, 1080, {}, 90, () => 0)
  sameDetections(t, '720p, masks and wider filters', 1280, 720, { masks: [{ x: 0, y: 0, w: 400, h: 200 }], blurRadius: 2, dilateRadius: 3, absorbFrames: 5 }, 150, () => 0)
  sameDetections(t, '640x360 sample mode, exposure ramp and a light switch', 640, 360, { downscaleMode: 'sample', followGlobalShift: true }, 150, (i) => (i < 100 ? -i / 4 : 40))
  sameDetections(t, '320x180 at factor 1, global shift not followed', 320, 180, { downscale: 1, followGlobalShift: false }, 120, (i) => (i % 30) / 3)
})
