// Raw captures (POST /cameras/NAME/capture): the next N decoded frames of the
// camera's frame ring written to a Y4M file, for calibration and offline
// tests. The recorder worker joins the frame ring as a consumer for the
// length of one capture and leaves it after; the planes are written row by
// row without the ring's stride padding, so any Y4M reader (FFmpeg, mpv,
// OpenCV) reads the file as it is.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { FrameLease, FrameRing, RingConsumer } from '@heart/ring'

/** The consumer name a raw capture joins the camera ring under (health and metrics show it). */
export const RAW_CAPTURE_CONSUMER = 'raw_capture'
/** Most frames one capture may ask for. */
export const MAX_CAPTURE_FRAMES = 1800
/** Most bytes one capture may write. */
export const MAX_CAPTURE_BYTES = 4 * 1024 ** 3

/** The Y4M colour space tag of each ring pixel format that Y4M can hold. */
const Y4M_COLORSPACE: Partial<Record<string, string>> = { yuv420p: '420jpeg', nv12: '420jpeg', gray: 'mono' }

export interface RawCaptureRequest {
  frames: number
  path: string
  /** The rate written in the header (the stream's; 0: unknown, written as 30). */
  fps: number
}

export interface RawCaptureResult {
  path: string
  frames: number
  /** Frames the ring dropped for this capture (it fell behind): the file then has gaps, and says so here. */
  dropped: number
  bytes: number
  firstSeq: string | null
  lastSeq: string | null
  error?: string
}

/** Why a ring pixel format cannot be captured as Y4M, or null. */
export function y4mRefusal(pixFmt: string): string | null {
  return Y4M_COLORSPACE[pixFmt] === undefined ? `Y4M holds YUV or gray pictures; the ring holds ${pixFmt} (camera.pixFmt): use yuv420p, nv12 or gray` : null
}

/** Writes the next `frames` frames published into the ring; resolves when done or aborted. */
export async function captureY4m(ring: FrameRing, request: RawCaptureRequest, signal: AbortSignal): Promise<RawCaptureResult> {
  const result: RawCaptureResult = { path: request.path, frames: 0, dropped: 0, bytes: 0, firstSeq: null, lastSeq: null }
  let consumer: RingConsumer
  try {
    // A spare place of the ring (ring.spareConsumers), at the depth those are sized for.
    consumer = ring.consumer(RAW_CAPTURE_CONSUMER, { depth: ring.defaultDepth })
  } catch (error) {
    return { ...result, error: `cannot join the camera ring: ${(error as Error).message}` }
  }
  let fd: number | null = null
  try {
    mkdirSync(dirname(request.path), { recursive: true })
    fd = openSync(request.path, 'wx')
    let header: string | null = null
    let row = new Uint8Array(0)
    let uv = new Uint8Array(0)
    while (result.frames < request.frames && !signal.aborted) {
      const lease = await consumer.acquireAsync(1000)
      if (!lease) continue
      try {
        const refusal = y4mRefusal(lease.pixFmt)
        if (refusal) {
          result.error = refusal
          break
        }
        const shape = `YUV4MPEG2 W${lease.width} H${lease.height} F${y4mRate(request.fps)} Ip A1:1 C${Y4M_COLORSPACE[lease.pixFmt]}\n`
        if (header === null) {
          header = shape
          result.bytes += writeAll(fd, Buffer.from(header))
        } else if (header !== shape) {
          result.error = `the stream changed to ${lease.width}x${lease.height} ${lease.pixFmt} during the capture; a Y4M file holds one size`
          break
        }
        if (row.length < lease.width) row = new Uint8Array(lease.width)
        if (uv.length < lease.width) uv = new Uint8Array(lease.width)
        result.bytes += writeAll(fd, FRAME_MARKER)
        result.bytes += writeFrame(fd, lease, uv)
        if (result.bytes > MAX_CAPTURE_BYTES) {
          result.error = `stopped at ${MAX_CAPTURE_BYTES} bytes, the most one capture writes`
          break
        }
        result.frames++
        result.firstSeq ??= String(lease.seq)
        result.lastSeq = String(lease.seq)
      } finally {
        consumer.release(lease)
      }
    }
  } catch (error) {
    result.error = (error as Error).message
  } finally {
    if (fd !== null) closeSync(fd)
    const stats = ring.consumerStats().find((c) => c.name === RAW_CAPTURE_CONSUMER && c.state === 'active')
    result.dropped = stats ? Number(Object.values(stats.dropped).reduce((a, b) => a + b, 0n)) : 0
    consumer.leave()
  }
  return result
}

const FRAME_MARKER = Buffer.from('FRAME\n')

/** Y4M's F field: a fraction (29.97 as 30000:1001). */
function y4mRate(fps: number): string {
  if (!(fps > 0)) return '30:1'
  return Number.isInteger(fps) ? `${fps}:1` : `${Math.round(fps * 1001)}:1001`
}

/** The planes without stride padding; NV12's interleaved chroma as Y4M's two planes. */
function writeFrame(fd: number, lease: FrameLease, uv: Uint8Array): number {
  const [y, chroma] = lease.planes
  let bytes = writePlane(fd, lease.bytes, y!.offset, y!.stride, y!.width, y!.height)
  if (lease.pixFmt === 'yuv420p') {
    for (const p of lease.planes.slice(1)) bytes += writePlane(fd, lease.bytes, p.offset, p.stride, p.width, p.height)
  } else if (lease.pixFmt === 'nv12' && chroma) {
    // The chroma plane is `width` (U, V) pairs a row.
    const half = chroma.width
    for (const pick of [0, 1]) {
      for (let r = 0; r < chroma.height; r++) {
        const at = chroma.offset + r * chroma.stride
        for (let c = 0; c < half; c++) uv[c] = lease.bytes[at + 2 * c + pick]!
        bytes += writeAll(fd, uv.subarray(0, half))
      }
    }
  }
  return bytes
}

function writePlane(fd: number, bytes: Uint8Array, offset: number, stride: number, width: number, height: number): number {
  if (stride === width) return writeAll(fd, bytes.subarray(offset, offset + width * height))
  let written = 0
  for (let r = 0; r < height; r++) written += writeAll(fd, bytes.subarray(offset + r * stride, offset + r * stride + width))
  return written
}

function writeAll(fd: number, data: Uint8Array): number {
  let done = 0
  while (done < data.length) done += writeSync(fd, data, done, data.length - done)
  return data.length
}
