// Worker entry of the movement detector: reads the luma plane of each frame
// in place from the ring, runs the detector and emits `motion` events.
// Started by the kernel (see services.ts); never imported directly.
//
// Downsampling in space: the detector block-averages the luma to about the
// configured input width in JS (default), or, with scaler: 'native' and the
// addon built, swscale scales the slot to that width and the detector runs
// at factor 1.

import { serveConsumer } from '@heart/kernel'
import type { FrameLease } from '@heart/ring'
import { unsupportedPixelFormat } from './errors.js'
import { MotionDetector } from './motion.js'
import type { MotionOptions } from './motion.js'
import { loadNative, nativeLayout } from './native.js'
import type { MotionWorkerOptions } from './services.js'
import type { Box, MotionEventPayload } from './types.js'

const LUMA_FORMATS = ['yuv420p', 'nv12', 'gray'] as const
/** Least time between two "recalibrating" log lines. */
const RECAL_LOG_MS = 10_000

serveConsumer<MotionWorkerOptions | undefined>(async (ctx) => {
  const options = ctx.config.app ?? {}
  const inputWidth = options.inputWidth ?? 320
  // JS block averaging is the default: measured cheaper than the native
  // scaleInto today (0.85 vs 1.0 ms for 1080p -> 320x180; see docs/vision.md).
  const { scaleInto } = options.scaler === 'native' ? await loadNative() : {}
  let detector: MotionDetector | null = null
  let width = 0
  let height = 0
  let moving = false
  // Native path state: the scaled plane and how its pixels map to the frame.
  let scaled: Uint8Array | null = null
  let sw = 0
  let sh = 0
  let kx = 1
  let ky = 1
  let pixFmt = ''
  // Layout objects for scaleInto, made once per frame geometry (per-frame work allocates nothing).
  let srcLayout: ReturnType<typeof nativeLayout> | null = null
  let dstLayout: ReturnType<typeof nativeLayout> | null = null

  function configure(frame: FrameLease): void {
    width = frame.width
    height = frame.height
    pixFmt = frame.pixFmt
    const detectorOptions: MotionOptions = { ...options.detector }
    if (scaleInto && inputWidth < width) {
      sw = Math.max(2, Math.round(inputWidth / 2) * 2)
      sh = Math.max(2, Math.round((height * sw) / width / 2) * 2)
      kx = width / sw
      ky = height / sh
      scaled = new Uint8Array(sw * sh)
      srcLayout = nativeLayout(frame)
      dstLayout = { width: sw, height: sh, pixFmt: 'gray', planes: [{ offset: 0, stride: sw, width: sw, height: sh }] }
      // Options are in frame pixels; the detector sees scaled pixels.
      detectorOptions.downscale = 1
      if (detectorOptions.masks) detectorOptions.masks = detectorOptions.masks.map((m) => ({ x: m.x / kx, y: m.y / ky, w: m.w / kx, h: m.h / ky }))
      detectorOptions.minArea = (detectorOptions.minArea ?? width * height * 0.0005) / (kx * ky)
    } else {
      scaled = null
      srcLayout = null
      kx = ky = 1
      if (options.inputWidth !== undefined || detectorOptions.downscale === undefined) {
        detectorOptions.downscale = Math.max(1, Math.round(width / inputWidth))
      }
    }
    detector = new MotionDetector(detectorOptions)
    ctx.log.info('motion detector configured', {
      width,
      height,
      scaling: scaled ? `native to ${sw}x${sh}` : `js, factor ${detectorOptions.downscale}`,
    })
  }

  // A scene that keeps changing globally (a flickering light, a looping
  // clip) would log on every recalibration: one line per RECAL_LOG_MS at
  // most, saying how many happened since the last.
  let recalibrations = 0
  let lastRecalLog = -Infinity
  function noteRecalibration(seq: bigint, shift: number, moving: number): void {
    recalibrations++
    const now = performance.now()
    if (now - lastRecalLog < RECAL_LOG_MS) return
    ctx.log.info('global change (lights, exposure): recalibrating', {
      seq: String(seq),
      shift,
      moving: Math.round(moving * 1000) / 1000,
      // This one included: 1 unless lines were held back.
      recalibrations_since_last_line: recalibrations,
    })
    recalibrations = 0
    lastRecalLog = now
  }

  return {
    onFrame(frame) {
      if (!(LUMA_FORMATS as readonly string[]).includes(frame.pixFmt)) throw unsupportedPixelFormat(frame.pixFmt, 'motion detector', LUMA_FORMATS)
      // A new geometry (renegotiation, or a decoder fallback that pads rows differently) means a new setup.
      if (detector === null || frame.width !== width || frame.height !== height || frame.pixFmt !== pixFmt || !samePlanes(frame.planes, srcLayout)) {
        configure(frame)
      }
      let r
      if (scaled !== null) {
        scaleInto!(frame.bytes, srcLayout!, scaled, dstLayout!)
        r = detector!.process(scaled, sw, sh)
      } else {
        r = detector!.processPlane(frame.bytes, frame.planes[0]!)
      }
      if (r.recalibrated) noteRecalibration(frame.seq, r.shift, r.movingFraction)
      // One event per frame with motion, and one empty event when it stops.
      if (r.boxCount === 0 && !moving) return
      moving = r.boxCount > 0
      const boxes: Box[] = []
      for (let i = 0; i < r.boxCount; i++) {
        const b = r.boxes[i]!
        const x = Math.round(b.x * kx)
        const y = Math.round(b.y * ky)
        boxes.push({ x, y, w: Math.min(width - x, Math.round(b.w * kx)), h: Math.min(height - y, Math.round(b.h * ky)) })
      }
      const payload: MotionEventPayload = { seq: String(frame.seq), captureTsNs: String(frame.captureTsNs), boxes }
      ctx.emit('motion', payload)
    },
  }
})

function samePlanes(planes: FrameLease['planes'], layout: { planes: ReadonlyArray<{ offset: number; stride: number }> } | null): boolean {
  if (layout === null) return true // JS path: processPlane reads the plane layout of every frame anyway
  if (planes.length !== layout.planes.length) return false
  for (let i = 0; i < planes.length; i++) {
    const a = planes[i]!
    const b = layout.planes[i]!
    if (a.offset !== b.offset || a.stride !== b.stride) return false
  }
  return true
}
