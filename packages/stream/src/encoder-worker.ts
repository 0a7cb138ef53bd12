// Worker entry of the telemetry encoder: a kernel consumer service on the
// camera ring that encodes frames to JPEG in place and hands them to the main
// thread through the JPEG share (see jpeg-share.ts for why a share). It works
// on demand: while nobody wants JPEGs (no viewer, no snapshot waiting) it is
// out of the ring and asleep on the share's `wanted` word.

import { serveConsumer } from '@heart/kernel'
import { loadEncoder } from './load-encoder.js'
import { missingSharedBuffer } from './errors.js'
import { FrameEncoder, resolveEncoderConfig } from './frame-encoder.js'
import { JpegShare } from './jpeg-share.js'
import { JPEG_SHARE_KEY } from './encoder-service.js'
import type { EncoderConfig } from './types.js'

/** Log a summary this often, so an operator sees the encoder's pace without a line per frame. */
const STATS_LOG_EVERY_MS = 10_000

serveConsumer<EncoderConfig>(async (ctx) => {
  const config = resolveEncoderConfig(ctx.config.app ?? {})
  const shareBuffer = ctx.shared[JPEG_SHARE_KEY]
  if (!shareBuffer) throw missingSharedBuffer(JPEG_SHARE_KEY)
  const share = JpegShare.attach(shareBuffer)
  const encode = await loadEncoder(config.encoderModule)
  // One throwaway encode before joining the ring: the first call pays for
  // loading and setting up the codec, and on a busy machine that cost the
  // first live frames (as <name>_slow). A failure here is left to the real
  // frames, which count and report it.
  try {
    const w = 64
    const h = 48
    encode(new Uint8Array(w * h), { width: w, height: h, pixFmt: 'gray', planes: [{ offset: 0, stride: w, width: w, height: h }] }, { width: 32, height: 24, quality: config.quality })
  } catch {
    // see above
  }
  const encoder = new FrameEncoder({
    encode,
    share,
    config,
    onError: (err, stats) => {
      // The first failure and then one in a hundred: enough to diagnose, never a flood.
      if (stats.failed === 1 || stats.failed % 100 === 0) {
        ctx.log.warn('JPEG encode failed; frame skipped', { error: err as Error, failed: stats.failed })
      }
    },
  })
  ctx.log.info('encoder ready', { fps: config.fps, width: config.width, height: config.height, quality: config.quality })
  let lastLog = Date.now()
  let lastEncoded = 0
  return {
    // The share says when the main thread wants JPEGs (see FrameDemand).
    demand: share,
    onFrame(frame, consumer) {
      encoder.onFrame(frame, () => consumer.release(frame))
      const now = Date.now()
      if (now - lastLog >= STATS_LOG_EVERY_MS) {
        const s = encoder.stats
        ctx.log.info('encoder', {
          fps: Math.round(((s.encoded - lastEncoded) * 10_000) / (now - lastLog)) / 10,
          encodeMs: s.lastEncodeUs / 1000,
          kbPerFrame: s.encoded > 0 ? Math.round(s.bytesTotal / s.encoded / 1024) : 0,
          failed: s.failed,
        })
        lastLog = now
        lastEncoded = s.encoded
      }
    },
  }
})
