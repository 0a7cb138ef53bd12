// Worker entry of the movement detector: reads the luma plane of each frame
// in place from the ring, runs the detector and emits `motion` events.
// Started by the kernel (see services.ts); never imported directly.
//
// Downsampling in space: the luma is reduced to about the configured input
// width before detection, either by the detector's JS block average or by
// the native swscale `scaleInto` straight from the slot (the detector then
// runs at factor 1). With scaler 'auto' (the default) the worker times both
// on its first frames and keeps the faster: which one wins depends on the
// build of the native addon and on the machine, and the answer is logged.

import { serveConsumer } from '@heart/kernel'
import { SampleWindow } from '@heart/telemetry'
import type { FrameLease } from '@heart/ring'
import { downscaleAverage } from './downscale.js'
import { unsupportedPixelFormat } from './errors.js'
import { MotionDetector } from './motion.js'
import type { MotionOptions } from './motion.js'
import { loadNative, nativeLayout } from './native.js'
import type { MotionWorkerOptions } from './services.js'
import type { Box, MotionEventPayload } from './types.js'

const LUMA_FORMATS = ['yuv420p', 'nv12', 'gray'] as const
/** Least time between two "recalibrating" log lines. */
const RECAL_LOG_MS = 10_000
/** Period of the "motion detector" timing log line. */
const STATS_LOG_MS = 10_000
/** Frames on which 'auto' times both scalers before choosing. */
const TRIAL_FRAMES = 12

serveConsumer<MotionWorkerOptions | undefined>(async (ctx) => {
  const options = ctx.config.app ?? {}
  const inputWidth = options.inputWidth ?? 320
  const wanted = options.scaler ?? 'auto'
  const { scaleInto } = wanted === 'js' ? {} : await loadNative()
  // 'auto' starts on JS and switches if the native scaler times faster.
  let useNative = wanted === 'native' && scaleInto !== undefined
  let trial: { js: SampleWindow; native: SampleWindow; scratch: Uint8Array; rowAcc: Uint32Array } | null =
    wanted === 'auto' && scaleInto !== undefined ? { js: new SampleWindow(TRIAL_FRAMES), native: new SampleWindow(TRIAL_FRAMES), scratch: new Uint8Array(0), rowAcc: new Uint32Array(0) } : null
  // Before joining the ring: a cold worker runs the detector in V8's
  // interpreter, many times slower than optimised code, and at 60 FPS it
  // lost its first frames (as <name>_slow) while the JIT caught up.
  const warm = warmUp(inputWidth)
  ctx.log.info('motion detector warmed up', warm)
  let detector: MotionDetector | null = null
  let width = 0
  let height = 0
  let moving = false
  // JS path: the detector's block factor.
  let jsFactor = 1
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
    jsFactor = options.inputWidth !== undefined || detectorOptions.downscale === undefined ? Math.max(1, Math.round(width / inputWidth)) : detectorOptions.downscale
    const canScale = scaleInto !== undefined && inputWidth < width
    if (canScale) {
      sw = Math.max(2, Math.round(inputWidth / 2) * 2)
      sh = Math.max(2, Math.round((height * sw) / width / 2) * 2)
      scaled = new Uint8Array(sw * sh)
      srcLayout = nativeLayout(frame)
      dstLayout = { width: sw, height: sh, pixFmt: 'gray', planes: [{ offset: 0, stride: sw, width: sw, height: sh }] }
    } else {
      scaled = null
      srcLayout = null
      useNative = false
      trial = null // nothing to scale: nothing to choose
    }
    if (useNative) {
      kx = width / sw
      ky = height / sh
      // Options are in frame pixels; the detector sees scaled pixels.
      detectorOptions.downscale = 1
      if (detectorOptions.masks) detectorOptions.masks = detectorOptions.masks.map((m) => ({ x: m.x / kx, y: m.y / ky, w: m.w / kx, h: m.h / ky }))
      detectorOptions.minArea = (detectorOptions.minArea ?? width * height * 0.0005) / (kx * ky)
    } else {
      kx = ky = 1
      detectorOptions.downscale = jsFactor
    }
    detector = new MotionDetector(detectorOptions)
    ctx.log.info('motion detector configured', {
      width,
      height,
      scaling: useNative ? `native to ${sw}x${sh}` : `js, factor ${jsFactor}`,
      choosing: trial !== null,
    })
  }

  /** 'auto': times the JS block average and the native scaler on this frame; decides after TRIAL_FRAMES. */
  function runTrial(frame: FrameLease): void {
    const t = trial!
    const plane = frame.planes[0]!
    const gw = Math.floor(width / jsFactor)
    const gh = Math.floor(height / jsFactor)
    if (t.scratch.length < gw * gh) t.scratch = new Uint8Array(gw * gh)
    if (t.rowAcc.length < gw) t.rowAcc = new Uint32Array(gw)
    const timeJs = (): void => {
      const t0 = performance.now()
      downscaleAverage(frame.bytes, plane.offset, plane.stride, jsFactor, gw, gh, t.rowAcc, t.scratch)
      t.js.add(performance.now() - t0)
    }
    const timeNative = (): void => {
      const t0 = performance.now()
      scaleInto!(frame.bytes, srcLayout!, scaled!, dstLayout!)
      t.native.add(performance.now() - t0)
    }
    // Alternate the order so neither always runs with a warm cache.
    if (t.js.size % 2 === 0) {
      timeJs()
      timeNative()
    } else {
      timeNative()
      timeJs()
    }
    if (t.js.size < TRIAL_FRAMES) return
    // Both windows are full here, so neither median is null.
    const jsMs = t.js.percentile(50) ?? Infinity
    const nativeMs = t.native.percentile(50) ?? Infinity
    trial = null
    const pickNative = nativeMs < jsMs
    ctx.log.info('motion scaler chosen', {
      scaler: pickNative ? 'native' : 'js',
      js_ms_p50: round3(jsMs),
      native_ms_p50: round3(nativeMs),
      frames: TRIAL_FRAMES,
    })
    if (pickNative !== useNative) {
      useNative = pickNative
      configure(frame)
    }
  }

  // A scene that keeps changing globally (a flickering light, a looping
  // clip) would log on every recalibration: one line per RECAL_LOG_MS at
  // most, saying how many happened since the last.
  let recalibrations = 0
  let lastRecalLog = -Infinity
  function noteRecalibration(seq: bigint, shift: number, movingFraction: number): void {
    recalibrations++
    const now = performance.now()
    if (now - lastRecalLog < RECAL_LOG_MS) return
    ctx.log.info('global change (lights, exposure): recalibrating', {
      seq: String(seq),
      shift,
      moving: round3(movingFraction),
      // This one included: 1 unless lines were held back.
      recalibrations_since_last_line: recalibrations,
    })
    recalibrations = 0
    lastRecalLog = now
  }

  // Where the time goes: per-frame work (scale + detect), logged every STATS_LOG_MS.
  const frameMs = new SampleWindow(1024)
  let statsFrames = 0
  let statsBoxes = 0
  let statsRecalibrations = 0
  const statsTimer = setInterval(() => {
    if (statsFrames === 0) return
    ctx.log.info('motion detector', {
      frames: statsFrames,
      scaler: useNative ? 'native' : 'js',
      ms_p50: round3(frameMs.percentile(50)),
      ms_p99: round3(frameMs.percentile(99)),
      ms_max: round3(frameMs.max()),
      boxes_per_frame: round3(statsBoxes / statsFrames),
      recalibrations: statsRecalibrations,
    })
    frameMs.clear()
    statsFrames = statsBoxes = statsRecalibrations = 0
  }, STATS_LOG_MS)
  statsTimer.unref()

  return {
    onFrame(frame) {
      if (!(LUMA_FORMATS as readonly string[]).includes(frame.pixFmt)) throw unsupportedPixelFormat(frame.pixFmt, 'motion detector', LUMA_FORMATS)
      // A new geometry (renegotiation, or a decoder fallback that pads rows differently) means a new setup.
      if (detector === null || frame.width !== width || frame.height !== height || frame.pixFmt !== pixFmt || !samePlanes(frame.planes, srcLayout)) {
        configure(frame)
      }
      if (trial !== null) runTrial(frame)
      const t0 = performance.now()
      let r
      if (useNative) {
        scaleInto!(frame.bytes, srcLayout!, scaled!, dstLayout!)
        r = detector!.process(scaled!, sw, sh)
      } else {
        r = detector!.processPlane(frame.bytes, frame.planes[0]!)
      }
      frameMs.add(performance.now() - t0)
      statsFrames++
      statsBoxes += r.boxCount
      if (r.recalibrated) {
        statsRecalibrations++
        noteRecalibration(frame.seq, r.shift, r.movingFraction)
      }
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
    onStop() {
      clearInterval(statsTimer)
    },
  }
})

/**
 * Runs the per-frame code paths on generated frames (a 16:9 luma plane at
 * six times the input width, a square moving over a gradient) until V8 has
 * optimised them. Nothing is kept.
 */
function warmUp(inputWidth: number): { frames: number; ms: number } {
  const t0 = performance.now()
  const f = 6
  const w = inputWidth * f
  const h = Math.round((w * 9) / 16 / f) * f
  const plane = new Uint8Array(w * h)
  const gw = w / f
  const gh = h / f
  const small = new Uint8Array(gw * gh)
  const rowAcc = new Uint32Array(gw)
  const full = new MotionDetector({ downscale: f, calibrationFrames: 1 })
  const grid = new MotionDetector({ downscale: 1, calibrationFrames: 1 })
  const frames = 40
  for (let n = 0; n < frames; n++) {
    const sx = (n * 7 * f) % (w - 40 * f)
    for (let y = 0; y < h; y++) {
      const row = y * w
      for (let x = 0; x < w; x++) plane[row + x] = x >= sx && x < sx + 40 * f && y >= h / 3 && y < h / 3 + 30 * f ? 230 : (x + y + n * 4) & 127
    }
    full.process(plane, w, h)
    downscaleAverage(plane, 0, w, f, gw, gh, rowAcc, small)
    grid.process(small, gw, gh)
  }
  return { frames, ms: Math.round(performance.now() - t0) }
}

function round3<T extends number | null>(v: T): T {
  return (v === null ? null : Math.round(v * 1000) / 1000) as T
}

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
