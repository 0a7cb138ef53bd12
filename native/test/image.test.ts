// scaleInto / encodeJpeg against swscale's own output via the FFmpeg CLI, and
// the I2C calls' argument checking (there is no bus on the test machine).
import t from 'tap'
import { openSync, closeSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeJpeg, i2cWrite, i2cWriteRead, scaleInto, Source, type OpenOptions, type OutputInfo } from '@heart/native'
import { cliFrames, difference, ffmpeg, fileSpec, frameSize, makeClip, tempDir, unpad } from './media.js'

function layoutOf(info: OutputInfo) {
  return { width: info.width, height: info.height, pixFmt: info.pixFmt, planes: info.planes }
}

/** The clip's first frame in a buffer of its own, and the layout it was written in. */
async function firstFrame(clip: string, options?: OpenOptions): Promise<{ frame: Uint8Array; info: OutputInfo }> {
  const src = await Source.open(fileSpec(clip), options)
  try {
    const frame = new Uint8Array(src.info.byteLength)
    await src.readInto(frame)
    return { frame, info: src.info }
  } finally {
    src.close()
  }
}

t.test('scaleInto shrinks a frame like the CLI scale filter, into a padded layout', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'c.mp4', { frames: 1 })
  const { frame, info } = await firstFrame(clip)
  const small = await Source.open(fileSpec(clip), { output: { width: 160, height: 120, pixFmt: 'gray' } })
  t.teardown(() => small.close())
  const dstInfo = small.info // the layout frameLayout(160, 120, 'gray') gives
  const dst = new Uint8Array(dstInfo.byteLength)
  scaleInto(frame, layoutOf(info), dst, layoutOf(dstInfo))
  // Shrinking uses swscale's area filter, as the CLI's scale filter does with flags=area.
  const reference = cliFrames(clip, 'gray', 'scale=160:120:flags=area')
  const diff = difference(unpad(dstInfo, dst), reference.subarray(0, frameSize(dstInfo)))
  t.ok(diff.max <= 3, `largest difference ${diff.max} <= 3`)
  t.throws(() => scaleInto(frame.subarray(0, 100), layoutOf(info), dst, layoutOf(dstInfo)), { code: 'BUFFER_TOO_SMALL' })
  t.throws(() => scaleInto(frame, { ...layoutOf(info), planes: [] }, dst, layoutOf(dstInfo)), { code: 'INVALID_ARGUMENT' })
})

t.test('scaleInto reuses its swscale contexts without mixing geometries up', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'c.mp4', { frames: 1 })
  const { frame, info } = await firstFrame(clip)
  const targets = [
    [160, 120, 'gray'], [80, 60, 'yuv420p'], [64, 48, 'nv12'], [32, 24, 'rgb24'], [48, 36, 'bgr24'], [640, 480, 'yuv420p'],
  ] as const
  const layouts = await Promise.all(targets.map(async ([width, height, pixFmt]) => {
    const s = await Source.open(fileSpec(clip), { output: { width, height, pixFmt } })
    const info = s.info
    s.close()
    return info
  }))
  const once = layouts.map((l) => {
    const dst = new Uint8Array(l.byteLength)
    scaleInto(frame, layoutOf(info), dst, layoutOf(l))
    return dst
  })
  // Twice round all six (more than the cache holds), in another order: every result must repeat exactly.
  for (const round of [0, 1]) {
    for (const i of [5, 3, 1, 0, 2, 4]) {
      const dst = new Uint8Array(once[i]!.length)
      scaleInto(frame, layoutOf(info), dst, layoutOf(layouts[i]!))
      t.ok(Buffer.compare(Buffer.from(dst), Buffer.from(once[i]!)) === 0, `round ${round}: ${targets[i]!.join(' ')} as the first time`)
    }
  }
})

t.test('encodeJpeg writes a JPEG the CLI decodes to the same picture', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'c.mp4', { frames: 1 })
  for (const pixFmt of ['yuv420p', 'nv12', 'gray'] as const) {
    const { frame, info } = await firstFrame(clip, { output: { pixFmt } })
    const jpeg = encodeJpeg(frame, layoutOf(info), { width: 160, quality: 90 })
    t.equal(jpeg[0], 0xff)
    t.equal(jpeg[1], 0xd8, `${pixFmt}: starts with SOI`)
    t.equal(jpeg[jpeg.length - 1], 0xd9, `${pixFmt}: ends with EOI`)
    const file = join(dir, `${pixFmt}.jpg`)
    writeFileSync(file, jpeg)
    const decoded = cliFrames(file, 'gray')
    t.equal(decoded.length, 160 * 120, `${pixFmt}: 160x120 (height from the aspect ratio)`)
    const reference = cliFrames(clip, 'gray', 'scale=160:120')
    const diff = difference(decoded, reference.subarray(0, 160 * 120))
    t.ok(diff.mean < 4, `${pixFmt}: mean luma difference ${diff.mean.toFixed(2)} < 4 after JPEG`)
  }
  const { frame, info } = await firstFrame(clip)
  t.ok(encodeJpeg(frame, layoutOf(info), { quality: 20 }).length < encodeJpeg(frame, layoutOf(info), { quality: 95 }).length, 'quality changes the size')
  t.throws(() => encodeJpeg(frame, layoutOf(info), { quality: 0 }), { code: 'INVALID_ARGUMENT' })
  void ffmpeg
})

t.test('encodeJpeg reuses its encoder across calls without mixing frames, sizes or qualities up', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'c.mp4', { frames: 1 })
  const { frame: a, info } = await firstFrame(clip)
  const layout = layoutOf(info)
  const b = a.map((v) => 255 - v)
  const first = encodeJpeg(a, layout, { width: 160, quality: 90 })
  t.ok(Buffer.isBuffer(first), 'a Node Buffer')
  const kept = Buffer.from(first)
  const other = encodeJpeg(b, layout, { width: 160, quality: 90 })
  t.notSame(other, kept, 'another frame gives another JPEG')
  t.same(first, kept, 'a later encode does not touch an earlier JPEG')
  t.same(encodeJpeg(a, layout, { width: 160, quality: 90 }), kept, 'the same frame again: the same bytes')
  const bigger = encodeJpeg(a, layout, { width: 320, quality: 90 })
  writeFileSync(join(dir, 'bigger.jpg'), bigger)
  t.equal(cliFrames(join(dir, 'bigger.jpg'), 'gray').length, 320 * 240, 'a new size reopens the encoder')
  t.ok(encodeJpeg(a, layout, { width: 160, quality: 20 }).length < kept.length, 'a new quality reopens it too')
  t.throws(() => encodeJpeg(a.subarray(0, 100), layout, { width: 160, quality: 90 }), { code: 'BUFFER_TOO_SMALL' })
  t.same(encodeJpeg(a, layout, { width: 160, quality: 90 }), kept, 'back to the first settings after a failed call: the same bytes')
})

t.test('I2C calls check their arguments before touching a bus', async (t) => {
  t.throws(() => i2cWriteRead(-1, 0x33, new Uint8Array([0x24, 0x00]), 2), { code: 'INVALID_ARGUMENT', message: /open \/dev\/i2c-N/ })
  t.throws(() => i2cWriteRead(3, 0x80, new Uint8Array([0]), 2), { code: 'INVALID_ARGUMENT', message: /7-bit/ })
  t.throws(() => i2cWriteRead(3, 0x33, new Uint8Array(0), 2), { code: 'INVALID_ARGUMENT', message: /write must be/ })
  t.throws(() => i2cWriteRead(3, 0x33, new Uint8Array([0]), 0), { code: 'INVALID_ARGUMENT', message: /readLen/ })
  t.throws(() => i2cWriteRead(3, 0x33, new Uint8Array([0]), 9000), { code: 'INVALID_ARGUMENT' })
  t.throws(() => i2cWrite(3, 0x33, new Uint8Array(0)), { code: 'INVALID_ARGUMENT' })
  const fd = openSync('/dev/null', 'r+')
  t.teardown(() => closeSync(fd))
  t.throws(() => i2cWriteRead(fd, 0x33, new Uint8Array([0x24, 0x00]), 2), {
    code: 'INVALID_ARGUMENT',
    message: /not an I2C bus/,
  })
  t.throws(() => i2cWrite(fd, 0x33, new Uint8Array([0x80, 0x0d, 0x19, 0x01])), { code: 'INVALID_ARGUMENT' })
})
