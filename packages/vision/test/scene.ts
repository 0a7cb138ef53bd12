// Generated video for the motion tests and bench: a textured static
// background, optional moving squares, sensor noise, and a brightness offset.
// Deterministic (seeded) so failures reproduce.

export interface Square {
  x: number
  y: number
  size: number
  luma: number
}

export class Scene {
  readonly width: number
  readonly height: number
  readonly stride: number
  readonly offset: number
  private readonly background: Uint8Array
  private seed = 12345

  constructor(width: number, height: number, opts: { stride?: number; offset?: number } = {}) {
    this.width = width
    this.height = height
    this.stride = opts.stride ?? width
    this.offset = opts.offset ?? 0
    this.background = new Uint8Array(width * height)
    // Smooth texture with edges: two gradients, a checker of 40 px tiles and fine noise.
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const checker = ((Math.floor(x / 40) + Math.floor(y / 40)) & 1) * 30
        const v = 50 + (x * 40) / width + (y * 30) / height + checker + 20 * Math.sin(x / 17) * Math.cos(y / 23)
        this.background[y * width + x] = Math.max(0, Math.min(255, Math.round(v + (this.rand() - 0.5) * 10)))
      }
    }
  }

  /** A buffer large enough for one frame with this scene's stride and offset. */
  allocate(): Uint8Array {
    return new Uint8Array(this.offset + this.stride * this.height)
  }

  /** Draws background + brightness + squares + per-pixel noise of ±noise/2 into `out`. */
  render(out: Uint8Array, squares: Square[] = [], opts: { brightness?: number; noise?: number } = {}): Uint8Array {
    const b = opts.brightness ?? 0
    const noise = opts.noise ?? 4
    const { width, height, stride, offset } = this
    for (let y = 0; y < height; y++) {
      const row = offset + y * stride
      for (let x = 0; x < width; x++) {
        let v = this.background[y * width + x]! + b
        for (const s of squares) {
          if (x >= s.x && x < s.x + s.size && y >= s.y && y < s.y + s.size) v = s.luma + b
        }
        v += (this.rand() - 0.5) * noise
        out[row + x] = v < 0 ? 0 : v > 255 ? 255 : v
      }
    }
    return out
  }

  // xorshift32: fast and reproducible.
  private rand(): number {
    let s = this.seed
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    this.seed = s >>> 0
    return this.seed / 4294967296
  }
}
