// Worker entry of the movement detector: reads the luma plane of each frame
// in place from the ring, runs the detector and emits `motion` events.
// Started by the kernel (see services.ts); never imported directly.

import { serveConsumer } from '@heart/kernel'
import { unsupportedPixelFormat } from './errors.js'
import { MotionDetector } from './motion.js'
import type { MotionWorkerOptions } from './services.js'
import type { Box, MotionEventPayload } from './types.js'

const LUMA_FORMATS = ['yuv420p', 'nv12', 'gray'] as const

serveConsumer<MotionWorkerOptions | undefined>((ctx) => {
  const options = ctx.config.app ?? {}
  let detector: MotionDetector | null = null
  let width = 0
  let height = 0
  let moving = false

  return {
    onFrame(frame) {
      if (!(LUMA_FORMATS as readonly string[]).includes(frame.pixFmt)) throw unsupportedPixelFormat(frame.pixFmt, 'motion detector', LUMA_FORMATS)
      if (detector === null || frame.width !== width || frame.height !== height) {
        // The input size picks the downscale factor for this frame size.
        width = frame.width
        height = frame.height
        const downscale = options.inputWidth ? Math.max(1, Math.round(width / options.inputWidth)) : options.detector?.downscale
        detector = new MotionDetector({ ...options.detector, downscale })
        ctx.log.info('motion detector configured', { width, height, downscale: downscale ?? 'auto' })
      }
      const r = detector.processPlane(frame.bytes, frame.planes[0]!)
      if (r.recalibrated) ctx.log.info('global change (lights, exposure): recalibrating', { seq: frame.seq, shift: r.shift, changed: r.changedFraction })
      // One event per frame with motion, and one empty event when it stops.
      if (r.boxCount === 0 && !moving) return
      moving = r.boxCount > 0
      const boxes: Box[] = []
      for (let i = 0; i < r.boxCount; i++) {
        const b = r.boxes[i]!
        boxes.push({ x: b.x, y: b.y, w: b.w, h: b.h })
      }
      const payload: MotionEventPayload = { seq: String(frame.seq), captureTsNs: String(frame.captureTsNs), boxes }
      ctx.emit('motion', payload)
    },
  }
})
