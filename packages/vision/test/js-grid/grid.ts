// The movement detector's per-cell stages in JavaScript: the implementation
// the detector ran before they moved to the crate (native/src/motion.rs),
// kept as the reference the native stages are compared with, cell for cell
// (motion-grid.test.ts). Not used by heart itself.

import { REGION_FIELDS } from '../../src/motion.js'
import type { MotionGridFactory, MotionGridStages } from '../../src/native.js'
import { ConnectedComponents } from './components.js'
import { downscaleAverage, downscaleSample } from './downscale.js'
import { boxBlur, dilate } from './filters.js'

const BG_SHIFT = 8
const BG_HALF = 1 << (BG_SHIFT - 1)

export const jsMotionGrid: MotionGridFactory = (frameWidth, frameHeight, factor, sample, blurRadius, dilateRadius) =>
  new JsMotionGrid(frameWidth, frameHeight, factor, sample, blurRadius, dilateRadius)

class JsMotionGrid implements MotionGridStages {
  private readonly f: number
  private readonly gw: number
  private readonly gh: number
  private readonly rowAcc: Uint32Array
  private readonly colAcc: Uint32Array
  private readonly small: Uint8Array
  private readonly blurTmp: Uint16Array
  private readonly dilTmp: Uint8Array
  private readonly cc: ConnectedComponents

  constructor(
    frameWidth: number,
    frameHeight: number,
    factor: number,
    private readonly sample: boolean,
    private readonly blurRadius: number,
    private readonly dilateRadius: number,
  ) {
    this.f = factor
    this.gw = Math.floor(frameWidth / factor)
    this.gh = Math.floor(frameHeight / factor)
    const n = this.gw * this.gh
    this.rowAcc = new Uint32Array(this.gw)
    this.colAcc = new Uint32Array(this.gw)
    this.small = new Uint8Array(n)
    this.blurTmp = new Uint16Array(n)
    this.dilTmp = new Uint8Array(n)
    this.cc = new ConnectedComponents(this.gw, this.gh)
  }

  reduce(src: Uint8Array, offset: number, stride: number, cur: Uint8Array): void {
    const { f, gw, gh } = this
    if (f === 1) {
      // Nothing to reduce: blur straight from the plane.
      boxBlur(src, gw, gh, this.blurRadius, this.blurTmp, this.colAcc, cur, offset, stride)
      return
    }
    if (this.sample) downscaleSample(src, offset, stride, f, gw, gh, this.small)
    else downscaleAverage(src, offset, stride, f, gw, gh, this.rowAcc, this.small)
    boxBlur(this.small, gw, gh, this.blurRadius, this.blurTmp, this.colAcc, cur)
  }

  compare(
    cur: Uint8Array,
    bg: Int32Array,
    prev: Uint8Array,
    ignore: Uint8Array,
    thr: number,
    fg: Uint8Array,
    moving: Uint8Array,
    hist: Uint32Array,
    fgRows: Int32Array,
    tally: Int32Array,
  ): number {
    hist.fill(0)
    let changed = 0
    let movingCount = 0
    // Branch-free: ((t - v) | (v + t)) >>> 31 is 1 exactly when v > t or v < -t (t a non-negative integer).
    for (let y = 0, i = 0; y < this.gh; y++) {
      let rowChanged = 0
      for (let x = 0; x < this.gw; x++, i++) {
        const c = cur[i]!
        const keep = ignore[i]! ^ 1
        const m = c - prev[i]!
        const mv = (((thr - m) | (m + thr)) >>> 31) & keep
        moving[i] = mv
        movingCount += mv
        prev[i] = c
        const d = ((c << BG_SHIFT) - bg[i]! + BG_HALF) >> BG_SHIFT
        hist[d + 255] += keep
        const f = (((thr - d) | (d + thr)) >>> 31) & keep
        fg[i] = f
        rowChanged += f
      }
      fgRows[y] = rowChanged
      changed += rowChanged
    }
    tally[0] = movingCount
    return changed
  }

  dilate(fg: Uint8Array, fgRows: Int32Array, ignore: Uint8Array, dil: Uint8Array, dilRows: Uint8Array): void {
    dilate(fg, this.gw, this.gh, this.dilateRadius, this.dilTmp, this.colAcc, dil, fgRows, dilRows)
    for (let i = 0, n = this.gw * this.gh; i < n; i++) if (ignore[i] !== 0) dil[i] = 0
  }

  label(connect: Uint8Array, weight: Uint8Array, active: Uint8Array, connectRows: Uint8Array, weightRows: Int32Array, regions: Int32Array): number {
    const cc = this.cc
    const count = cc.label(connect, weight, active, connectRows, weightRows)
    for (let k = 0; k < count; k++) {
      regions.set([cc.minX[k]!, cc.minY[k]!, cc.maxX[k]!, cc.maxY[k]!, cc.area[k]!, cc.active[k]!], k * REGION_FIELDS)
    }
    return count
  }

  learn(cur: Uint8Array, bg: Int32Array, fg: Uint8Array, dil: Uint8Array, moving: Uint8Array, stuck: Uint16Array, rate: number, fgRate: number, absorb: number, shift: number): void {
    const s = shift * (1 << BG_SHIFT)
    for (let i = 0, n = this.gw * this.gh; i < n; i++) {
      const c = cur[i]! << BG_SHIFT
      const b = bg[i]! + s
      if (dil[i] === 0) {
        stuck[i] = 0
        bg[i] = b + (((c - b) * rate) | 0)
        continue
      }
      if (moving[i] !== 0 || fg[i] === 0) stuck[i] = 0
      else if (++stuck[i]! >= absorb) {
        stuck[i] = 0
        bg[i] = c
        continue
      }
      bg[i] = b + (((c - b) * fgRate) | 0)
    }
  }
}
