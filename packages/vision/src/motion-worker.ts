// Worker entry of the movement detector: reads the luma plane of each frame
// in place from the ring, runs the detector and emits `motion` events.
// Started by the kernel (see services.ts); never imported directly.
//
// Downsampling in space: the detector block-averages the luma plane straight
// from the slot, by the integer factor round(width / inputWidth), in the
// crate (MotionGrid). It used to choose between a JS block average and
// swscale's scaleInto by timing both; the crate's block average is faster
// than either (docs/vision.md has the figures), so there is one path.

import { currentThreadTid, procThreadCpuMs, serveConsumer } from '@heart/kernel'
import { SampleWindow } from '@heart/telemetry'
import type { FrameLease } from '@heart/ring'
import { unsupportedPixelFormat } from './errors.js'
import { MotionDetector } from './motion.js'
import type { MotionOptions } from './motion.js'
import type { MotionWorkerOptions } from './services.js'
import type { Box, MotionEventPayload } from './types.js'

const LUMA_FORMATS = ['yuv420p', 'nv12', 'gray'] as const
/** Least time between two "recalibrating" log lines. */
const RECAL_LOG_MS = 10_000
/** Period of the "motion detector" timing log line. */
const STATS_LOG_MS = 10_000

serveConsumer<MotionWorkerOptions | undefined>(async (ctx) => {
  const options = ctx.config.app ?? {}
  const inputWidth = options.inputWidth ?? 320
  // Before joining the ring: a cold worker runs the detector in V8's
  // interpreter, many times slower than optimised code, and at 60 FPS it
  // lost its first frames (as <name>_slow) while the JIT caught up.
  const warm = warmUp(inputWidth)
  ctx.log.info('motion detector warmed up', warm)
  let detector: MotionDetector | null = null
  let width = 0
  let height = 0
  let moving = false
  let pixFmt = ''

  function configure(frame: FrameLease): void {
    width = frame.width
    height = frame.height
    pixFmt = frame.pixFmt
    const detectorOptions: MotionOptions = { ...options.detector }
    const factor = options.inputWidth !== undefined || detectorOptions.downscale === undefined ? Math.max(1, Math.round(width / inputWidth)) : detectorOptions.downscale
    detector = new MotionDetector({ ...detectorOptions, downscale: factor })
    ctx.log.info('motion detector configured', { width, height, factor, grid: `${Math.floor(width / factor)}x${Math.floor(height / factor)}` })
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

  // Where the time goes: per-frame work (downscale + detect), logged every STATS_LOG_MS.
  const frameMs = new SampleWindow(1024)
  let statsFrames = 0
  let statsBoxes = 0
  let statsRecalibrations = 0
  // This thread's CPU from /proc, read with the kernel's one reader (null off Linux).
  const tid = currentThreadTid()
  const threadCpuMs = (): number | null => (tid === null ? null : procThreadCpuMs(tid))
  let statsCpuMs = threadCpuMs()
  const statsTimer = setInterval(() => {
    const cpuMs = threadCpuMs()
    const frames = statsFrames
    const spentMs = cpuMs !== null && statsCpuMs !== null ? cpuMs - statsCpuMs : null
    statsCpuMs = cpuMs
    if (frames === 0) return
    ctx.log.info('motion detector', {
      frames,
      // All of this thread's CPU (ring, detector, events, its share of GC), per frame: 10 ms ticks, so about ±0.02 ms at 60 FPS.
      cpu_ms_per_frame: spentMs === null ? null : round3(spentMs / frames),
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
      // (The plane's offset and stride are read from every frame.)
      if (detector === null || frame.width !== width || frame.height !== height || frame.pixFmt !== pixFmt) configure(frame)
      const t0 = performance.now()
      const r = detector!.processPlane(frame.bytes, frame.planes[0]!)
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
        boxes.push({ x: b.x, y: b.y, w: Math.min(width - b.x, b.w), h: Math.min(height - b.y, b.h) })
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
 * Runs the per-frame code (labelling and boxes are JavaScript) on generated
 * frames (a 16:9 luma plane at twice the input width, so the grid is as
 * wide as the real one; a square moving over a gradient) until V8 has
 * optimised it. Nothing is kept.
 */
function warmUp(inputWidth: number): { frames: number; ms: number } {
  const t0 = performance.now()
  const f = 2
  const w = inputWidth * f
  const h = Math.round((w * 9) / 16 / f) * f
  const plane = new Uint8Array(w * h)
  const detector = new MotionDetector({ downscale: f, calibrationFrames: 1 })
  const frames = 40
  for (let n = 0; n < frames; n++) {
    const sx = (n * 7 * f) % (w - 40 * f)
    for (let y = 0; y < h; y++) {
      const row = y * w
      for (let x = 0; x < w; x++) plane[row + x] = x >= sx && x < sx + 40 * f && y >= h / 3 && y < h / 3 + 30 * f ? 230 : (x + y + n * 4) & 127
    }
    detector.process(plane, w, h)
  }
  return { frames, ms: Math.round(performance.now() - t0) }
}

function round3<T extends number | null>(v: T): T {
  return (v === null ? null : Math.round(v * 1000) / 1000) as T
}
