// Frame -> model input: scaled colour conversion, letterbox, tensor layouts,
// and a dependency-free BMP encoder. Everything reads the frame in place
// (a ring slot) and writes into caller-owned buffers.

import { invalidOption, unsupportedPixelFormat } from './errors.js'
import type { Box, FrameView } from './types.js'

export type TensorLayout = 'NCHW' | 'NHWC'
export type TensorDatatype = 'UINT8' | 'FP32'

export interface TensorSpec {
  /** Model input width and height in pixels. */
  width: number
  height: number
  layout: TensorLayout
  datatype: TensorDatatype
  /** Channel order the model expects. Default 'rgb'. */
  channels?: 'rgb' | 'bgr'
  /** FP32 only: divide by 255 (default true). */
  normalize?: boolean
  /** Keep the aspect ratio and pad (default true); false stretches. */
  letterbox?: boolean
  /** Value of the padding, 0..255 (default 114, the usual YOLO grey). */
  padValue?: number
}

/** How model-input coordinates map back to the frame: frame = (model − pad) / scale. */
export interface Placement {
  scaleX: number
  scaleY: number
  padX: number
  padY: number
  frameWidth: number
  frameHeight: number
}

export const SUPPORTED_PIXEL_FORMATS = ['yuv420p', 'nv12', 'gray', 'rgb24', 'bgr24'] as const

export function tensorLength(spec: TensorSpec): number {
  return spec.width * spec.height * 3
}

export function validateTensorSpec(spec: TensorSpec): void {
  for (const k of ['width', 'height'] as const) {
    if (!Number.isInteger(spec[k]) || spec[k] < 1 || spec[k] > 8192) throw invalidOption(`input.${k}`, spec[k], 'an integer from 1 to 8192')
  }
  if (spec.layout !== 'NCHW' && spec.layout !== 'NHWC') throw invalidOption('input.layout', spec.layout, '"NCHW" or "NHWC"')
  if (spec.datatype !== 'UINT8' && spec.datatype !== 'FP32') throw invalidOption('input.datatype', spec.datatype, '"UINT8" or "FP32"')
  if (spec.channels !== undefined && spec.channels !== 'rgb' && spec.channels !== 'bgr') {
    throw invalidOption('input.channels', spec.channels, '"rgb" or "bgr"')
  }
}

export function placementFor(frameWidth: number, frameHeight: number, width: number, height: number, letterbox = true): Placement {
  if (!letterbox) return { scaleX: width / frameWidth, scaleY: height / frameHeight, padX: 0, padY: 0, frameWidth, frameHeight }
  const s = Math.min(width / frameWidth, height / frameHeight)
  const cw = Math.round(frameWidth * s)
  const ch = Math.round(frameHeight * s)
  return { scaleX: s, scaleY: s, padX: Math.floor((width - cw) / 2), padY: Math.floor((height - ch) / 2), frameWidth, frameHeight }
}

/** Maps a box in model-input (or encoded-image) pixels back to frame pixels, clipped to the frame. */
export function toFrameBox(x1: number, y1: number, x2: number, y2: number, p: Placement): Box {
  const fx1 = clamp((x1 - p.padX) / p.scaleX, 0, p.frameWidth)
  const fy1 = clamp((y1 - p.padY) / p.scaleY, 0, p.frameHeight)
  const fx2 = clamp((x2 - p.padX) / p.scaleX, 0, p.frameWidth)
  const fy2 = clamp((y2 - p.padY) / p.scaleY, 0, p.frameHeight)
  return { x: Math.round(fx1), y: Math.round(fy1), w: Math.round(fx2 - fx1), h: Math.round(fy2 - fy1) }
}

/**
 * Reusable nearest-neighbour sampler from a frame to an RGB raster. The
 * index maps are rebuilt only when the frame or target size changes, so
 * steady-state conversion allocates nothing.
 */
export class RgbSampler {
  private xMap = new Int32Array(0)
  private yMap = new Int32Array(0)
  private key = ''

  /**
   * Calls `put(outIndex, r, g, b)` for every pixel of a width×height raster
   * (row-major), sampling the frame through `placement`; padding pixels get
   * `pad` in all channels. Returns nothing; the callback decides the layout.
   */
  sample(frame: FrameView, width: number, height: number, p: Placement, pad: number, write: PixelWriter): void {
    if (!SUPPORTED_PIXEL_FORMATS.includes(frame.pixFmt as (typeof SUPPORTED_PIXEL_FORMATS)[number])) {
      throw unsupportedPixelFormat(frame.pixFmt, 'detection client', SUPPORTED_PIXEL_FORMATS)
    }
    const key = `${frame.width}x${frame.height}>${width}x${height}:${p.scaleX},${p.scaleY},${p.padX},${p.padY}`
    if (key !== this.key) this.buildMaps(frame, width, height, p, key)
    const xMap = this.xMap
    const yMap = this.yMap
    const bytes = frame.bytes
    const p0 = frame.planes[0]!
    switch (frame.pixFmt) {
      case 'gray':
      case 'rgb24':
      case 'bgr24': {
        // Packed formats: one loop, with bytes per pixel and where R, G and B sit (gray: all three at 0).
        const bpp = frame.pixFmt === 'gray' ? 1 : 3
        const [ro, go, bo] = frame.pixFmt === 'gray' ? [0, 0, 0] : frame.pixFmt === 'bgr24' ? [2, 1, 0] : [0, 1, 2]
        for (let oy = 0, o = 0; oy < height; oy++) {
          const sy = yMap[oy]!
          const row = p0.offset + sy * p0.stride
          for (let ox = 0; ox < width; ox++, o++) {
            const sx = xMap[ox]!
            if (sy < 0 || sx < 0) write.put(o, pad, pad, pad)
            else {
              const i = row + sx * bpp
              write.put(o, bytes[i + ro!]!, bytes[i + go!]!, bytes[i + bo!]!)
            }
          }
        }
        return
      }
      default: {
        // yuv420p (U and V planes) or nv12 (interleaved UV plane); chroma is half size.
        const nv12 = frame.pixFmt === 'nv12'
        const pu = frame.planes[1]!
        const pv = nv12 ? pu : frame.planes[2]!
        for (let oy = 0, o = 0; oy < height; oy++) {
          const sy = yMap[oy]!
          const yRow = p0.offset + sy * p0.stride
          const uRow = pu.offset + (sy >> 1) * pu.stride
          const vRow = pv.offset + (sy >> 1) * pv.stride
          for (let ox = 0; ox < width; ox++, o++) {
            const sx = xMap[ox]!
            if (sy < 0 || sx < 0) {
              write.put(o, pad, pad, pad)
              continue
            }
            const c = sx >> 1
            const y = (bytes[yRow + sx]! - 16) * 298
            const u = (nv12 ? bytes[uRow + 2 * c]! : bytes[uRow + c]!) - 128
            const v = (nv12 ? bytes[vRow + 2 * c + 1]! : bytes[vRow + c]!) - 128
            // BT.601 limited range, 8-bit fixed point.
            write.put(o, clamp8((y + 409 * v + 128) >> 8), clamp8((y - 100 * u - 208 * v + 128) >> 8), clamp8((y + 516 * u + 128) >> 8))
          }
        }
      }
    }
  }

  private buildMaps(frame: FrameView, width: number, height: number, p: Placement, key: string): void {
    if (this.xMap.length !== width) this.xMap = new Int32Array(width)
    if (this.yMap.length !== height) this.yMap = new Int32Array(height)
    for (let ox = 0; ox < width; ox++) {
      const sx = Math.floor((ox + 0.5 - p.padX) / p.scaleX)
      this.xMap[ox] = ox < p.padX || sx >= frame.width || sx < 0 ? -1 : sx
    }
    for (let oy = 0; oy < height; oy++) {
      const sy = Math.floor((oy + 0.5 - p.padY) / p.scaleY)
      this.yMap[oy] = oy < p.padY || sy >= frame.height || sy < 0 ? -1 : sy
    }
    this.key = key
  }
}

export interface PixelWriter {
  put(index: number, r: number, g: number, b: number): void
}

/** Writes a model input tensor in the spec's layout and datatype. Reuse one per spec. */
export class TensorWriter implements PixelWriter {
  readonly spec: TensorSpec
  readonly data: Uint8Array | Float32Array
  private readonly plane: number
  private readonly bgr: boolean
  private readonly nchw: boolean
  private readonly k: number
  private readonly sampler = new RgbSampler()

  constructor(spec: TensorSpec, data?: Uint8Array | Float32Array) {
    validateTensorSpec(spec)
    this.spec = spec
    const n = tensorLength(spec)
    this.data = data ?? (spec.datatype === 'FP32' ? new Float32Array(n) : new Uint8Array(n))
    if (this.data.length < n) throw invalidOption('tensor buffer', this.data.length, `at least ${n} elements`)
    this.plane = spec.width * spec.height
    this.bgr = spec.channels === 'bgr'
    this.nchw = spec.layout === 'NCHW'
    this.k = spec.datatype === 'FP32' && spec.normalize !== false ? 1 / 255 : 1
  }

  /** Fills `data` from the frame and returns where the frame landed in the tensor. */
  write(frame: FrameView): Placement {
    const s = this.spec
    const p = placementFor(frame.width, frame.height, s.width, s.height, s.letterbox !== false)
    this.sampler.sample(frame, s.width, s.height, p, s.padValue ?? 114, this)
    return p
  }

  put(i: number, r: number, g: number, b: number): void {
    const d = this.data
    const k = this.k
    if (this.bgr) {
      const t = r
      r = b
      b = t
    }
    if (this.nchw) {
      const n = this.plane
      d[i] = r * k
      d[i + n] = g * k
      d[i + 2 * n] = b * k
    } else {
      const o = i * 3
      d[o] = r * k
      d[o + 1] = g * k
      d[o + 2] = b * k
    }
  }
}

/**
 * Encodes the frame, scaled to fit maxWidth, as a 24-bit BMP: no codec, so it
 * works without the native JPEG encoder (DeepStack and CodeProject.AI decode
 * any format PIL reads). Larger on the wire than JPEG, fine on a LAN.
 */
export class BmpEncoder implements PixelWriter {
  private out = new Uint8Array(0)
  private width = 0
  private rowBytes = 0
  private readonly sampler = new RgbSampler()

  encode(frame: FrameView, maxWidth = 640): { data: Uint8Array; width: number; height: number } {
    const scale = Math.min(1, maxWidth / frame.width)
    const w = Math.max(1, Math.round(frame.width * scale))
    const h = Math.max(1, Math.round(frame.height * scale))
    const rowBytes = (w * 3 + 3) & ~3
    const size = 54 + rowBytes * h
    if (this.out.length !== size) this.out = new Uint8Array(size)
    this.width = w
    this.rowBytes = rowBytes
    const dv = new DataView(this.out.buffer)
    dv.setUint16(0, 0x4d42, true) // 'BM'
    dv.setUint32(2, size, true)
    dv.setUint32(10, 54, true)
    dv.setUint32(14, 40, true)
    dv.setInt32(18, w, true)
    dv.setInt32(22, -h, true) // negative height: rows top-down, like the frame
    dv.setUint16(26, 1, true)
    dv.setUint16(28, 24, true)
    dv.setUint32(34, rowBytes * h, true)
    this.sampler.sample(frame, w, h, placementFor(frame.width, frame.height, w, h, false), 0, this)
    return { data: this.out, width: w, height: h }
  }

  put(i: number, r: number, g: number, b: number): void {
    const y = (i / this.width) | 0
    const o = 54 + y * this.rowBytes + (i - y * this.width) * 3
    this.out[o] = b
    this.out[o + 1] = g
    this.out[o + 2] = r
  }
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v
}
