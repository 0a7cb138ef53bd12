// Frames laid out exactly as the ring lays them out (padded strides), drawn
// in the tests: a dark background with one bright square.

import { frameLayout } from '@heart/ring'
import type { DetectionFrame } from '../src/detection-client.js'

export interface Rect {
  x: number
  y: number
  w: number
  h: number
}

export function drawFrame(
  width: number,
  height: number,
  pixFmt: 'yuv420p' | 'nv12' | 'gray' | 'rgb24' | 'bgr24',
  square: Rect | null,
  seq = 1n,
  opts: { flags?: number; captureTsNs?: bigint } = {},
): DetectionFrame {
  const layout = frameLayout(width, height, pixFmt)
  const bytes = new Uint8Array(layout.byteLength)
  const inside = (x: number, y: number): boolean =>
    square !== null && x >= square.x && x < square.x + square.w && y >= square.y && y < square.y + square.h
  const p0 = layout.planes[0]!
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const on = inside(x, y)
      if (pixFmt === 'rgb24' || pixFmt === 'bgr24') {
        const i = p0.offset + y * p0.stride + x * 3
        // A reddish square (R high) on a dark blue-ish background, to catch channel swaps.
        const [r, g, b] = on ? [250, 220, 210] : [20, 30, 90]
        bytes[i] = pixFmt === 'rgb24' ? r : b
        bytes[i + 1] = g
        bytes[i + 2] = pixFmt === 'rgb24' ? b : r
      } else {
        bytes[p0.offset + y * p0.stride + x] = on ? 235 : 50
      }
    }
  }
  if (pixFmt === 'yuv420p') {
    for (const p of layout.planes.slice(1)) for (let y = 0; y < p.height; y++) bytes.fill(128, p.offset + y * p.stride, p.offset + y * p.stride + p.width)
  } else if (pixFmt === 'nv12') {
    const p = layout.planes[1]! // interleaved U,V: two bytes per sample
    for (let y = 0; y < p.height; y++) bytes.fill(128, p.offset + y * p.stride, p.offset + y * p.stride + p.width * 2)
  }
  return {
    width,
    height,
    pixFmt,
    planes: layout.planes,
    bytes,
    seq,
    captureTsNs: opts.captureTsNs ?? seq * 33_333_333n,
    flags: opts.flags ?? 0,
  }
}
