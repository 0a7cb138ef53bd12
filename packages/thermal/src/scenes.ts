// What the emulated sensor looks at. A scene renders the raw words of one subpage at a
// moment in time; the emulator copies the words of that subpage's pattern into its RAM.
import type { Mlx90640Params } from './calibration.js'
import { badArgumentError } from './errors.js'
import { COLS, FRAME_WORDS, PIXELS, ROWS } from './registers.js'
import { prng, synthesizeFrame } from './synthesize.js'

export interface SceneContext {
  params: Mlx90640Params
  /** Control register 1 as configured (pattern, resolution). */
  ctrl: number
  subpage: number
  /** Seconds since the emulator started measuring. */
  timeS: number
  /** How many subpages the emulator has measured before this one. */
  index: number
}

export interface Scene {
  /** Write the 834 frame words (pixels, aux, ctrl, subpage) for this subpage into `out`. */
  render(ctx: SceneContext, out: Uint16Array): void
  /** The temperature (°C) the scene shows at a pixel and time, when it is synthetic. */
  temperatureAt?(row: number, col: number, timeS: number): number
  /** The die temperature the scene reports at a time, when it is synthetic. */
  taAt?(timeS: number): number
}

/** Serves recorded frames exactly, subpage 0 from one and subpage 1 from the other. */
export class RecordedScene implements Scene {
  private readonly frames: Uint16Array[]

  constructor(frames: Uint16Array[]) {
    if (frames.length === 0 || frames.some((f) => f.length !== FRAME_WORDS)) {
      throw badArgumentError('a recorded scene needs frames of 834 words (the reference frame layout)')
    }
    this.frames = frames
  }

  render(ctx: SceneContext, out: Uint16Array): void {
    const match = this.frames.find((f) => (f[833]! & 1) === ctx.subpage) ?? this.frames[ctx.index % this.frames.length]!
    out.set(match)
  }
}

export interface SyntheticSceneOptions {
  /** Die temperature °C, constant or as a function of time (for drift tests). */
  ta?: number | ((timeS: number) => number)
  vdd?: number
  emissivity?: number
  /** Reflected temperature °C; by default Ta - 8, the convention the reader uses too. */
  tr?: number | ((ta: number) => number)
  noiseCounts?: number
  seed?: number
}

/** A scene given as temperatures in °C per pixel and time, turned into raw words by inverting the calibration. */
export class TemperatureScene implements Scene {
  private readonly temps = new Float64Array(PIXELS)
  private readonly rand: () => number

  constructor(
    private readonly field: (row: number, col: number, timeS: number) => number,
    private readonly opts: SyntheticSceneOptions = {},
  ) {
    this.rand = prng(opts.seed ?? 1)
  }

  temperatureAt(row: number, col: number, timeS: number): number {
    return this.field(row, col, timeS)
  }

  taAt(timeS: number): number {
    const ta = this.opts.ta ?? 30
    return typeof ta === 'function' ? ta(timeS) : ta
  }

  render(ctx: SceneContext, out: Uint16Array): void {
    for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLS; c++) this.temps[r * COLS + c] = this.field(r, c, ctx.timeS)
    const ta = this.taAt(ctx.timeS)
    const tr = this.opts.tr ?? ((t: number) => t - 8)
    synthesizeFrame(
      ctx.params,
      ctx.ctrl,
      ctx.subpage,
      this.temps,
      {
        ta,
        vdd: this.opts.vdd ?? 3.3,
        emissivity: this.opts.emissivity ?? 1,
        tr: typeof tr === 'function' ? tr(ta) : tr,
        noiseCounts: this.opts.noiseCounts ?? 0,
        rand: this.rand,
      },
      out,
    )
  }
}

export interface BlobSceneOptions extends SyntheticSceneOptions {
  backgroundC?: number
  blobC?: number
  /** Blob radius in pixels (a disc with a one-pixel soft edge). */
  radius?: number
  /** Blob centre moves on an ellipse around the image centre; seconds per lap (0 = still). */
  periodS?: number
  /** Centre when still, [row, col]. */
  center?: [number, number]
}

/** The default scene: a warm blob moving over a uniform background. */
export function blobScene(opts: BlobSceneOptions = {}): TemperatureScene {
  const background = opts.backgroundC ?? 24
  const blob = opts.blobC ?? 36
  const radius = opts.radius ?? 3
  const period = opts.periodS ?? 8
  const [cr, cc] = opts.center ?? [(ROWS - 1) / 2, (COLS - 1) / 2]
  const centre = (timeS: number): [number, number] => {
    if (period <= 0) return [cr, cc]
    const phase = (2 * Math.PI * timeS) / period
    return [cr + 6 * Math.sin(phase), cc + 10 * Math.cos(phase)]
  }
  return new TemperatureScene((row, col, timeS) => {
    const [r0, c0] = centre(timeS)
    const d = Math.hypot(row - r0, col - c0)
    const w = Math.max(0, Math.min(1, radius + 0.5 - d)) // 1 inside, 0 outside, linear over one pixel
    return background + (blob - background) * w
  }, opts)
}
