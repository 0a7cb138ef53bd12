// Movement detector on the luma plane: downscale, blur, difference against a
// running-average background, threshold, dilate, connected regions above a
// minimum area. Pure computation (no threads, no I/O) so it can be tested on
// generated frames and benchmarked on its own; motion-worker.ts feeds it
// frames from the ring.
//
// The stages that touch every pixel or cell (downscale, blur, difference,
// dilation, region labelling, background update) run in the crate
// (native/src/motion.rs, the MotionGrid class), reading the luma plane in
// place: in JavaScript they cost 1.7 ms CPU a 1080p frame, most of it the
// block average. What stays here is per frame or per region: calibration,
// global changes, masks and the boxes.

import { invalidOption, planeTooSmall } from './errors.js'
import { nativeMotionGrid } from './native.js'
import type { MotionGridFactory, MotionGridStages } from './native.js'
import type { Box } from './types.js'

export interface MotionOptions {
  /** Integer block size for the first downscale. Default: ceil(width / 320), so the working grid is ≤ 320 wide. */
  downscale?: number
  /** 'average' (default) averages each block; 'sample' reads one pixel per block (cheaper, noisier). */
  downscaleMode?: 'average' | 'sample'
  /** Box blur radius in grid cells. Default 1 (a 3×3 mean). 0 disables. */
  blurRadius?: number
  /** A cell is "changed" when |frame − background| exceeds this many luma levels. Default 25. */
  threshold?: number
  /** Smallest reported region, in frame pixels. Default: 0.05 % of the frame area. */
  minArea?: number
  /** Fraction of the difference folded into the background per frame where nothing moves. Default 0.05. */
  backgroundRate?: number
  /**
   * Rate used where something moves. Much smaller than backgroundRate, so a
   * moving object does not smear into the background and leave a trail.
   * Default backgroundRate / 20.
   */
  foregroundRate?: number
  /**
   * A cell that differs from the background but not from the previous frame
   * for this many frames in a row is taken into the background: an object
   * that stopped, or the "ghost" left where an object stood while the
   * background was learned. Default 15.
   */
  absorbFrames?: number
  /** Dilation radius in grid cells used to join nearby changed cells into one region. Default 2. */
  dilateRadius?: number
  /** Regions of the frame (frame pixels) that are never reported: clocks, trees, the robot's own arm. */
  masks?: Box[]
  /** Frames spent learning the background after start and after a global change, with no reports. Default 5. */
  calibrationFrames?: number
  /**
   * A global change (lights switched, exposure jump, camera knocked) when more
   * than this fraction of cells changed since the previous frame. Measured
   * frame to frame, not against the background: a scene that is busy all the
   * time (a sliding texture, many movers) keeps a large part of the view
   * different from the background, and recalibrating would not help it;
   * what marks a global change is that it happens at once. Default 0.35.
   */
  globalChangeFraction?: number
  /**
   * ...or when the median signed difference moves by more than this many
   * levels in one frame. A moving object, however large, does not move the
   * median until it covers half of the view; a lighting change moves all of
   * it. Default 12.
   */
  globalShift?: number
  /**
   * Move the whole background by each frame's median difference, so global
   * brightness changes smaller than globalShift per frame (exposure ramps, a
   * gradient sliding across the view) are followed instead of accumulating
   * into a recalibration. Default true.
   */
  followGlobalShift?: boolean
  /** Most boxes reported per frame (the largest are kept). Default 32. */
  maxBoxes?: number
}

export interface MotionResult {
  /** Pooled boxes in frame pixels: entries 0..boxCount-1 are valid until the next process() call. */
  readonly boxes: Box[]
  boxCount: number
  /** True while the background is being (re)learned; no boxes are reported then. */
  calibrating: boolean
  /** True on the frame where a global change was detected and calibration restarted. */
  recalibrated: boolean
  /** Fraction of unmasked cells that differed from the background this frame. */
  changedFraction: number
  /** Fraction of unmasked cells that differed from the previous frame (what globalChangeFraction is compared with). */
  movingFraction: number
  /** Median signed difference frame − background, in luma levels. */
  shift: number
}

const HIST_BINS = 511 // signed differences -255..255
// The background is fixed point, luma << BG_SHIFT: integer arithmetic is
// cheaper than float in the per-cell loops, and 8 fraction bits keep slow
// background rates from stalling on rounding.
const BG_SHIFT = 8
/** Entries per region in MotionGrid.label's output: min x, min y, max x, max y, area, active cells. */
export const REGION_FIELDS = 6

export class MotionDetector {
  private readonly opts: MotionOptions
  private masks: Box[]
  private frameW = 0
  private frameH = 0
  private f = 1
  private gw = 0
  private gh = 0
  private minAreaCells = 1
  private calibrationLeft = 0
  private seeded = false

  private readonly makeGrid: MotionGridFactory
  private stages: MotionGridStages | null = null

  // Working storage, sized once per frame size.
  private fgRows = new Int32Array(0)
  private dilRows = new Uint8Array(0)
  private cur = new Uint8Array(0)
  private bg = new Int32Array(0)
  private fg = new Uint8Array(0)
  private dil = new Uint8Array(0)
  private ignore = new Uint8Array(0)
  private stuck = new Uint16Array(0)
  private prev = new Uint8Array(0)
  private moving = new Uint8Array(0)
  private readonly hist = new Uint32Array(HIST_BINS)
  /** Out parameter of thresholdCells: [0] = cells that changed since the previous frame. */
  private readonly tally = new Int32Array(1)
  /** Region stats from MotionGrid.label: REGION_FIELDS entries per region. */
  private regions = new Int32Array(0)
  private activeCells = 0
  private readonly boxArea: Float64Array
  private readonly result: MotionResult

  /**
   * `makeGrid` builds the per-cell stages for a frame geometry: the crate's
   * MotionGrid, unless a test passes another implementation to compare.
   */
  constructor(options: MotionOptions = {}, makeGrid: MotionGridFactory = nativeMotionGrid) {
    validate(options)
    this.makeGrid = makeGrid
    this.opts = { ...options }
    this.masks = (options.masks ?? []).map((m) => ({ ...m }))
    const maxBoxes = options.maxBoxes ?? 32
    this.boxArea = new Float64Array(maxBoxes)
    const boxes: Box[] = []
    for (let i = 0; i < maxBoxes; i++) boxes.push({ x: 0, y: 0, w: 0, h: 0 })
    this.result = { boxes, boxCount: 0, calibrating: true, recalibrated: false, changedFraction: 0, movingFraction: 0, shift: 0 }
  }

  /** Working grid size (after the downscale), known after the first frame. */
  get grid(): { width: number; height: number; factor: number } {
    return { width: this.gw, height: this.gh, factor: this.f }
  }

  /** Replaces the mask regions; takes effect on the next frame. */
  setMasks(masks: Box[]): void {
    validateMasks(masks)
    this.masks = masks.map((m) => ({ ...m }))
    if (this.gw > 0) this.rasterizeMasks()
  }

  /** Forgets the background: the next frame starts a new calibration. */
  reset(): void {
    this.seeded = false
  }

  /** Convenience for a ring lease or any FrameView: processes plane 0 (luma). */
  processPlane(bytes: Uint8Array, plane: { offset: number; stride: number; width: number; height: number }): MotionResult {
    return this.process(bytes, plane.width, plane.height, plane.stride, plane.offset)
  }

  /**
   * Processes one luma plane: `data[offset + y * stride + x]` for x < width,
   * y < height. Returns the pooled result (do not keep it across calls).
   */
  process(data: Uint8Array, width: number, height: number, stride = width, offset = 0): MotionResult {
    const need = offset + (height - 1) * stride + width
    if (height < 1 || width < 1 || stride < width || data.length < need) {
      throw planeTooSmall(need, data.length, `motion detector (${width}x${height}, stride ${stride}, offset ${offset})`)
    }
    if (width !== this.frameW || height !== this.frameH) this.allocate(width, height)

    const n = this.gw * this.gh
    const grid = this.stages!
    grid.reduce(data, offset, stride, this.cur)

    const r = this.result
    r.boxCount = 0
    r.recalibrated = false
    const cur = this.cur
    const bg = this.bg

    if (!this.seeded) {
      for (let i = 0; i < n; i++) bg[i] = cur[i]! << BG_SHIFT
      this.prev.set(cur)
      this.stuck.fill(0)
      this.seeded = true
      this.calibrationLeft = this.opts.calibrationFrames ?? 5
      r.calibrating = true
      r.changedFraction = 0
      r.movingFraction = 0
      r.shift = 0
      return r
    }

    // Difference, threshold, and a histogram of signed differences for the median.
    const thr = this.opts.threshold ?? 25
    const fg = this.fg
    const ignore = this.ignore
    const hist = this.hist
    // Integer threshold: for integer differences, |d| > floor(t) is |d| > t.
    const changed = grid.compare(cur, bg, this.prev, ignore, Math.floor(thr), fg, this.moving, hist, this.fgRows, this.tally)
    const active = this.activeCells
    r.changedFraction = active > 0 ? changed / active : 0
    r.movingFraction = active > 0 ? this.tally[0]! / active : 0
    r.shift = medianShift(hist, active)

    if (this.calibrationLeft > 0) {
      // Follow the picture exactly while calibrating: an exposure ramp then
      // looks, once calibration ends, like the small per-frame step it is.
      this.calibrationLeft--
      for (let i = 0; i < n; i++) bg[i] = cur[i]! << BG_SHIFT
      // Whatever still differs from the background and does not move on the
      // first frame after calibration is a ghost of something that stood
      // there while we learned: let it be absorbed at once, not after absorbFrames.
      this.stuck.fill((this.opts.absorbFrames ?? 15) - 1)
      r.calibrating = true
      return r
    }
    r.calibrating = false

    const globalFraction = this.opts.globalChangeFraction ?? 0.35
    const globalShift = this.opts.globalShift ?? 12
    if (r.movingFraction > globalFraction || r.shift > globalShift || r.shift < -globalShift) {
      for (let i = 0; i < n; i++) bg[i] = cur[i]! << BG_SHIFT
      this.stuck.fill(0)
      this.calibrationLeft = this.opts.calibrationFrames ?? 5
      r.calibrating = true
      r.recalibrated = true
      return r
    }

    const dil = this.dil
    if (changed > 0) {
      grid.dilate(fg, this.fgRows, ignore, dil, this.dilRows)
      this.collectBoxes(grid.label(dil, fg, this.moving, this.dilRows, this.fgRows, this.regions))
    } else {
      dil.fill(0)
    }
    this.updateBackground(r.shift)
    return r
  }

  private collectBoxes(regionCount: number): void {
    const regions = this.regions
    const r = this.result
    const boxes = r.boxes
    const cap = boxes.length
    const f = this.f
    for (let k = 0; k < regionCount; k++) {
      const at = k * REGION_FIELDS
      const area = regions[at + 4]!
      // A region where nothing changed since the last frame is a ghost or a
      // stopped object, not movement: it is absorbed, not reported.
      if (area < this.minAreaCells || regions[at + 5] === 0) continue
      let slot = r.boxCount
      if (slot >= cap) {
        // Full: replace the smallest kept box if this one is larger.
        let smallest = 0
        for (let j = 1; j < cap; j++) if (this.boxArea[j]! < this.boxArea[smallest]!) smallest = j
        if (this.boxArea[smallest]! >= area) continue
        slot = smallest
      } else {
        r.boxCount++
      }
      const b = boxes[slot]!
      const minX = regions[at]!
      const minY = regions[at + 1]!
      b.x = minX * f
      b.y = minY * f
      b.w = (regions[at + 2]! - minX + 1) * f
      b.h = (regions[at + 3]! - minY + 1) * f
      this.boxArea[slot] = area
    }
  }

  /**
   * Learns the frame into the background. `shift` (the median difference of
   * this frame) moves the whole background first: brightness that changes
   * everywhere at once (an exposure ramp, or a gradient sliding across the
   * view, which looks the same to a pixel) is followed frame by frame instead
   * of piling up behind a slow running average until it looks like a global
   * change and forces a recalibration.
   */
  private updateBackground(shift: number): void {
    const rate = this.opts.backgroundRate ?? 0.05
    const fgRate = this.opts.foregroundRate ?? rate / 20
    const followed = this.opts.followGlobalShift === false ? 0 : shift
    this.stages!.learn(this.cur, this.bg, this.fg, this.dil, this.moving, this.stuck, rate, fgRate, this.opts.absorbFrames ?? 15, followed)
  }

  private allocate(width: number, height: number): void {
    const f = this.opts.downscale ?? Math.max(1, Math.ceil(width / 320))
    const gw = Math.floor(width / f)
    const gh = Math.floor(height / f)
    if (gw < 1 || gh < 1) throw invalidOption('downscale', f, `a factor no larger than the frame (${width}x${height})`)
    this.frameW = width
    this.frameH = height
    this.f = f
    this.gw = gw
    this.gh = gh
    const n = gw * gh
    this.stages = this.makeGrid(width, height, f, this.opts.downscaleMode === 'sample', this.opts.blurRadius ?? 1, this.opts.dilateRadius ?? 2)
    this.fgRows = new Int32Array(gh)
    this.dilRows = new Uint8Array(gh)
    this.cur = new Uint8Array(n)
    this.bg = new Int32Array(n)
    this.fg = new Uint8Array(n)
    this.dil = new Uint8Array(n)
    this.ignore = new Uint8Array(n)
    this.stuck = new Uint16Array(n)
    this.prev = new Uint8Array(n)
    this.moving = new Uint8Array(n)
    // At most one region per provisional label, and at most one label per cell.
    this.regions = new Int32Array((n + 1) * REGION_FIELDS)
    const minArea = this.opts.minArea ?? width * height * 0.0005
    this.minAreaCells = Math.max(1, Math.ceil(minArea / (f * f)))
    this.rasterizeMasks()
    this.seeded = false
  }

  /** A cell is ignored when its centre lies inside any mask rectangle. */
  private rasterizeMasks(): void {
    const { f, gw, gh, ignore } = this
    ignore.fill(0)
    for (const m of this.masks) {
      for (let gy = 0; gy < gh; gy++) {
        const cy = gy * f + f / 2
        if (cy < m.y || cy >= m.y + m.h) continue
        for (let gx = 0; gx < gw; gx++) {
          const cx = gx * f + f / 2
          if (cx >= m.x && cx < m.x + m.w) ignore[gy * gw + gx] = 1
        }
      }
    }
    let active = 0
    for (let i = 0; i < gw * gh; i++) if (ignore[i] === 0) active++
    this.activeCells = active
  }
}

function medianShift(hist: Uint32Array, total: number): number {
  if (total === 0) return 0
  const half = total / 2
  let acc = 0
  for (let b = 0; b < HIST_BINS; b++) {
    acc += hist[b]!
    if (acc >= half) return b - 255
  }
  return 0
}

function validate(o: MotionOptions): void {
  const int = (name: keyof MotionOptions, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const v = o[name]
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) {
      throw invalidOption(name, v, `an integer from ${min} to ${max}`)
    }
  }
  const frac = (name: keyof MotionOptions, min: number, max: number): void => {
    const v = o[name]
    if (v !== undefined && !(typeof v === 'number' && v >= min && v <= max)) {
      throw invalidOption(name, v, `a number from ${min} to ${max}`)
    }
  }
  int('downscale', 1, 64)
  int('blurRadius', 0, 16)
  int('dilateRadius', 0, 16)
  int('calibrationFrames', 0, 10_000)
  int('absorbFrames', 1, 65_535)
  int('maxBoxes', 1, 1024)
  frac('threshold', 1, 254)
  frac('minArea', 0, Number.MAX_SAFE_INTEGER)
  frac('backgroundRate', 0, 1)
  frac('foregroundRate', 0, 1)
  frac('globalChangeFraction', 0, 1)
  frac('globalShift', 0, 255)
  if (o.followGlobalShift !== undefined && typeof o.followGlobalShift !== 'boolean') {
    throw invalidOption('followGlobalShift', o.followGlobalShift, 'true or false')
  }
  if (o.downscaleMode !== undefined && o.downscaleMode !== 'average' && o.downscaleMode !== 'sample') {
    throw invalidOption('downscaleMode', o.downscaleMode, '"average" or "sample"')
  }
  if (o.masks !== undefined) validateMasks(o.masks)
}

function validateMasks(masks: unknown): void {
  if (!Array.isArray(masks)) throw invalidOption('masks', masks, 'an array of {x, y, w, h} rectangles in frame pixels')
  for (const m of masks as Box[]) {
    const ok =
      m !== null &&
      typeof m === 'object' &&
      [m.x, m.y, m.w, m.h].every((v) => typeof v === 'number' && Number.isFinite(v)) &&
      m.w > 0 &&
      m.h > 0
    if (!ok) throw invalidOption('masks', m, 'a rectangle {x, y, w, h} with finite numbers and positive w and h')
  }
}
