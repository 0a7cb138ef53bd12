// The synthetic:// camera: frames drawn straight into the ring slot with a
// known pattern, paced at the configured rate, with no decoding. It exists to
// load-test everything after the decoder (ring, consumers, health, loop) and
// lets a consumer prove that what it read in place is exactly what was drawn.
import { frameLayout, type FrameLayout, type PixelFormatName, type PlaneLayout } from '@heart/ring'
import type { DecodedFrame, OpenRequest, OpenedSource } from './decoder.js'
import type { SyntheticSource } from './types.js'

// Each plane's byte at (column i, row y) of frame n is (i + ROW_STEP*y + FRAME_STEP*n + plane*PLANE_STEP) & 0xff.
// FRAME_STEP is odd, so n mod 256 can be recovered from a single byte.
const ROW_STEP = 3
const FRAME_STEP = 7
const PLANE_STEP = 85

/** One row of the pattern long enough to cut every row of every plane from it. */
function baseRow(maxRowBytes: number): Uint8Array {
  const base = new Uint8Array(maxRowBytes + 256)
  for (let i = 0; i < base.length; i++) base[i] = i & 0xff
  return base
}

function rowBytesOf(layout: { pixFmt: PixelFormatName; planes: readonly PlaneLayout[] }, plane: number): number {
  const p = layout.planes[plane]!
  switch (layout.pixFmt) {
    case 'rgb24':
    case 'bgr24':
      return p.width * 3
    case 'grayf32':
      return p.width * 4
    case 'nv12':
      return plane === 0 ? p.width : p.width * 2
    default:
      return p.width
  }
}

/** Draws frame n of the pattern into dst; memcpy-speed (one set() per row). */
export function drawSyntheticFrame(dst: Uint8Array, layout: FrameLayout, n: number, base = baseRow(layout.planes[0]!.stride)): void {
  for (let p = 0; p < layout.planes.length; p++) {
    const plane = layout.planes[p]!
    const rowBytes = rowBytesOf(layout, p)
    for (let y = 0; y < plane.height; y++) {
      const shift = (ROW_STEP * y + FRAME_STEP * n + PLANE_STEP * p) & 0xff
      dst.set(base.subarray(shift, shift + rowBytes), plane.offset + y * plane.stride)
    }
  }
}

export interface SyntheticCheck {
  /** The frame number mod 256 the pixels say they are. */
  frameMod256: number
  /** Rows that differ from the pattern (0 for an intact frame). */
  badRows: number
}

// The inverse of FRAME_STEP mod 256, to read the frame number back.
const FRAME_STEP_INVERSE = (() => {
  for (let i = 1; i < 256; i += 2) if (((i * FRAME_STEP) & 0xff) === 1) return i
  return 1
})()

/**
 * Reads every byte of a synthetic frame in place and says which frame it is
 * and how many rows are not what the producer drew (a torn or corrupt frame).
 */
export function checkSyntheticFrame(bytes: Uint8Array, layout: { pixFmt: PixelFormatName; planes: readonly PlaneLayout[] }, base: Uint8Array): SyntheticCheck {
  const first = bytes[layout.planes[0]!.offset]!
  const frameMod256 = (first * FRAME_STEP_INVERSE) & 0xff
  let badRows = 0
  for (let p = 0; p < layout.planes.length; p++) {
    const plane = layout.planes[p]!
    const rowBytes = rowBytesOf(layout, p)
    for (let y = 0; y < plane.height; y++) {
      const shift = (ROW_STEP * y + FRAME_STEP * frameMod256 + PLANE_STEP * p) & 0xff
      const start = plane.offset + y * plane.stride
      if (Buffer.compare(bytes.subarray(start, start + rowBytes), base.subarray(shift, shift + rowBytes)) !== 0) badRows++
    }
  }
  return { frameMod256, badRows }
}

/** The base row a checker needs for frames up to this many bytes a row. */
export function syntheticBaseRow(maxRowBytes: number): Uint8Array {
  return baseRow(maxRowBytes)
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })

/** Opens synthetic:// as a source the capture loop drives like any camera. */
export async function openSynthetic(request: OpenRequest, _signal: AbortSignal): Promise<OpenedSource> {
  const spec = request.spec as SyntheticSource
  const layout = frameLayout(spec.size.width, spec.size.height, request.pixFmt)
  const base = baseRow(Math.max(...layout.planes.map((p) => p.stride)))
  const periodNs = BigInt(Math.round(1e9 / spec.fps))
  const startNs = process.hrtime.bigint()
  let n = 0
  return {
    info: { codec: 'synthetic', width: layout.width, height: layout.height, fps: spec.fps, pixFmt: request.pixFmt, backend: 'synthetic', frameBytes: layout.byteLength },
    async read(dst: Uint8Array, signal: AbortSignal): Promise<DecodedFrame | null> {
      // Pace on absolute deadlines so the average rate is exact despite timer jitter.
      const due = startNs + BigInt(n) * periodNs
      const waitMs = Number(due - process.hrtime.bigint()) / 1e6
      if (waitMs > 1) await sleep(waitMs, signal)
      if (signal.aborted) return null
      const captureTsNs = process.hrtime.bigint()
      drawSyntheticFrame(dst, layout, n, base)
      const decodeTsNs = process.hrtime.bigint()
      n++
      return {
        captureTsNs,
        decodeTsNs,
        width: layout.width,
        height: layout.height,
        pixFmt: request.pixFmt,
        planes: layout.planes,
        keyframe: true,
        corrupt: false,
        decodeMs: Number(decodeTsNs - captureTsNs) / 1e6,
        decodeErrors: 0,
      }
    },
    close() {},
  }
}
