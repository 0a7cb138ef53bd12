import t from 'tap'
import { FrameEncoder, MAX_CONSECUTIVE_ENCODE_FAILURES, outputSize, resolveEncoderConfig, type EncoderLease } from '../src/frame-encoder.js'
import { JpegShare } from '../src/jpeg-share.js'
import type { EncodeJpeg } from '../src/types.js'

function lease(seq: number, flags = 0): EncoderLease {
  return {
    seq: BigInt(seq),
    captureTsNs: BigInt(seq) * 1_000_000n,
    width: 1920,
    height: 1080,
    pixFmt: 'nv12',
    planes: [
      { offset: 0, stride: 1920, width: 1920, height: 1080 },
      { offset: 1920 * 1080, stride: 1920, width: 960, height: 540 },
    ],
    flags,
    bytes: new Uint8Array(16),
  }
}

t.test('config: defaults, aspect-ratio rules and clear errors', async (t) => {
  t.match(resolveEncoderConfig(), { fps: 15, width: 960, height: 0, quality: 75, encoderModule: '@heart/native' })
  t.match(resolveEncoderConfig({ height: 480 }), { width: 0, height: 480 }, 'a height alone keeps the aspect ratio')
  t.match(resolveEncoderConfig({ width: 0, height: 0 }), { width: 0, height: 0 })
  t.throws(() => resolveEncoderConfig({ fps: 0 }), { code: 'STREAM_CONFIG', message: /fps = 0 is not valid/ })
  t.throws(() => resolveEncoderConfig({ quality: 0 }), { code: 'STREAM_CONFIG', message: /quality/ })
  t.throws(() => resolveEncoderConfig({ width: 33.5 }), { code: 'STREAM_CONFIG', message: /width/ })
  t.throws(() => resolveEncoderConfig({ height: -2 }), { code: 'STREAM_CONFIG', message: /height/ })
  t.throws(() => resolveEncoderConfig({ encoderModule: '' }), { code: 'STREAM_CONFIG', message: /encoderModule/ })

  t.same(outputSize(1920, 1080, { width: 0, height: 0 }), { width: 1920, height: 1080 })
  t.same(outputSize(1920, 1080, { width: 960, height: 0 }), { width: 960, height: 540 })
  t.same(outputSize(1920, 1080, { width: 0, height: 360 }), { width: 640, height: 360 })
  t.same(outputSize(1921, 1081, { width: 0, height: 0 }), { width: 1920, height: 1080 }, 'sizes are even')
  t.same(outputSize(640, 480, { width: 320, height: 320 }), { width: 320, height: 320 }, 'both sides given: exactly that')
  t.same(outputSize(640, 360, { width: 960, height: 0 }), { width: 640, height: 360 }, 'one side given: never upscaled')
  t.same(outputSize(640, 360, { width: 0, height: 720 }), { width: 640, height: 360 })
  t.same(outputSize(64, 48, { width: 1280, height: 960 }), { width: 1280, height: 960 }, 'both sides given: upscaled if asked')
})

t.test('encodes in place, releases the lease before publishing, publishes with metadata', async (t) => {
  const share = JpegShare.create(4096)
  const order: string[] = []
  const calls: Array<Parameters<EncodeJpeg>> = []
  const encode: EncodeJpeg = (...args) => {
    calls.push(args)
    order.push('encode')
    return Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])
  }
  let clock = 1000n
  const encoder = new FrameEncoder({ encode, share, config: resolveEncoderConfig({ width: 640, quality: 60 }), now: () => (clock += 2_500_000n) })
  const l = lease(42, 1)
  encoder.onFrame(l, () => {
    order.push('release')
    t.equal(share.published(), 0, 'the JPEG is not published before the lease is released')
  })
  t.same(order, ['encode', 'release'])
  t.equal(calls[0]![0], l.bytes, 'the encoder reads the slot bytes in place, no copy')
  t.same(calls[0]![1], { width: 1920, height: 1080, pixFmt: 'nv12', planes: l.planes }, 'in the slot\'s own pixel format')
  t.same(calls[0]![2], { width: 640, height: 360, quality: 60 })
  const out = share.readLatest()!
  t.same([...out.jpeg], [0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])
  t.match(out.meta, { seq: 42n, captureTsNs: 42_000_000n, srcWidth: 1920, srcHeight: 1080, width: 640, height: 360, encodeUs: 2500, flags: 1 })
  t.match(encoder.stats, { encoded: 1, failed: 0, lastEncodeUs: 2500, bytesTotal: 7 })
})

t.test('a failed encode skips the frame; a long run of failures throws', async (t) => {
  const share = JpegShare.create(4096)
  let fail = true
  const errors: unknown[] = []
  const encoder = new FrameEncoder({
    encode: () => {
      if (fail) throw Object.assign(new Error('bad frame'), { code: 'ENCODE_ERROR' })
      return Buffer.from([0xff, 0xd8])
    },
    share,
    config: resolveEncoderConfig(),
    onError: (err) => errors.push(err),
  })
  let released = 0
  encoder.onFrame(lease(1), () => released++)
  t.equal(released, 1, 'the lease is released even when the encode fails')
  t.equal(share.published(), 0)
  fail = false
  encoder.onFrame(lease(2), () => released++)
  t.equal(share.published(), 1, 'the next good frame goes through')
  fail = true
  for (let i = 0; i < MAX_CONSECUTIVE_ENCODE_FAILURES - 1; i++) encoder.onFrame(lease(3 + i), () => released++)
  t.throws(() => encoder.onFrame(lease(100), () => released++), { code: 'ENCODE_ERROR' }, `${MAX_CONSECUTIVE_ENCODE_FAILURES} failures in a row crash the service`)
  t.equal(released, MAX_CONSECUTIVE_ENCODE_FAILURES + 2, 'every lease was released')
  t.equal(errors.length, MAX_CONSECUTIVE_ENCODE_FAILURES + 1)
  t.match(encoder.stats, { encoded: 1, failed: MAX_CONSECUTIVE_ENCODE_FAILURES + 1 })
})

t.test('a JPEG too large for the share is skipped like a failed encode', async (t) => {
  const share = JpegShare.create(1024)
  let size = 2000
  const errors: unknown[] = []
  const encoder = new FrameEncoder({ encode: () => Buffer.alloc(size), share, config: resolveEncoderConfig(), onError: (e) => errors.push(e) })
  let released = 0
  encoder.onFrame(lease(1), () => released++)
  t.equal(released, 1)
  t.equal(share.published(), 0)
  t.match(errors, [{ code: 'STREAM_JPEG_TOO_LARGE' }])
  size = 500
  encoder.onFrame(lease(2), () => released++)
  t.equal(share.published(), 1)
  t.match(encoder.stats, { encoded: 1, failed: 1, bytesTotal: 500 })
})
