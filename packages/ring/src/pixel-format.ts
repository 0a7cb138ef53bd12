import { PIXEL_FORMAT_NAMES, type PixelFormatName } from '@heart/contracts'
import { SLOT_ALIGN } from './layout.js'
import { invalidArgument } from './errors.js'

/** Numeric pixel-format codes stored in a slot's metadata. */
export const PixelFormat = {
  YUV420P: 0,
  NV12: 1,
  GRAY8: 2,
  RGB24: 3,
  BGR24: 4,
  GRAYF32: 5,
} as const
export type PixelFormatCode = (typeof PixelFormat)[keyof typeof PixelFormat]

// Names and their order (the numeric code is the index) come from @heart/contracts.
export type { PixelFormatName }
export { PIXEL_FORMAT_NAMES }

export function pixelFormatCode(name: PixelFormatName): PixelFormatCode {
  const code = PIXEL_FORMAT_NAMES.indexOf(name)
  if (code < 0) {
    throw invalidArgument(`unknown pixel format "${String(name)}"; use one of ${PIXEL_FORMAT_NAMES.join(', ')}`)
  }
  return code as PixelFormatCode
}

export function pixelFormatName(code: number): PixelFormatName {
  const name = PIXEL_FORMAT_NAMES[code]
  if (name === undefined) throw invalidArgument(`unknown pixel format code ${code}`)
  return name
}

/** Where one plane sits inside a slot, in bytes. */
export interface PlaneLayout {
  offset: number
  stride: number
  width: number
  height: number
}

export interface FrameLayout {
  width: number
  height: number
  pixFmt: PixelFormatName
  byteLength: number
  planes: PlaneLayout[]
}

function alignStride(bytes: number): number {
  return Math.ceil(bytes / SLOT_ALIGN) * SLOT_ALIGN
}

/**
 * The packed layout heart uses for a frame inside a slot: planes one after
 * the other, each row padded to 64 bytes. The native decoder writes exactly
 * this layout, so JS and Rust compute the same offsets.
 */
export function frameLayout(width: number, height: number, pixFmt: PixelFormatName): FrameLayout {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw invalidArgument(`frame size must be positive integers, got ${width}x${height}`)
  }
  const planeSpecs: Array<[number, number, number]> = [] // [bytes per row, rows, plane width in samples]
  const halfW = Math.ceil(width / 2)
  const halfH = Math.ceil(height / 2)
  switch (pixFmt) {
    case 'yuv420p':
      planeSpecs.push([width, height, width], [halfW, halfH, halfW], [halfW, halfH, halfW])
      break
    case 'nv12':
      planeSpecs.push([width, height, width], [halfW * 2, halfH, halfW])
      break
    case 'gray':
      planeSpecs.push([width, height, width])
      break
    case 'rgb24':
    case 'bgr24':
      planeSpecs.push([width * 3, height, width])
      break
    case 'grayf32':
      planeSpecs.push([width * 4, height, width])
      break
    default:
      throw invalidArgument(`unknown pixel format "${String(pixFmt)}"; use one of ${PIXEL_FORMAT_NAMES.join(', ')}`)
  }
  const planes: PlaneLayout[] = []
  let offset = 0
  for (const [rowBytes, rows, planeWidth] of planeSpecs) {
    const stride = alignStride(rowBytes)
    planes.push({ offset, stride, width: planeWidth, height: rows })
    offset += stride * rows
  }
  return { width, height, pixFmt, byteLength: offset, planes }
}
