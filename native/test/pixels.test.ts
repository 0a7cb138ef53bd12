// Pixel correctness against the FFmpeg CLI: exact for yuv420p (the decoder's
// own format, copied), within rounding for converted formats.
import t from 'tap'
import { Source } from '@heart/native'
import { cliFrames, difference, fileSpec, frameSize, makeClip, tempDir, unpad } from './media.js'

const FRAMES = 8

t.test('yuv420p frames are byte-identical to the FFmpeg CLI decode', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'clip.mp4', { frames: FRAMES })
  const reference = cliFrames(clip, 'yuv420p')
  const source = await Source.open(fileSpec(clip), { decoder: 'software' })
  t.teardown(() => source.close())
  const info = source.info
  t.equal(info.pixFmt, 'yuv420p')
  t.equal(info.width, 320)
  t.equal(info.height, 240)
  const size = frameSize(info)
  t.equal(reference.length, size * FRAMES, 'the CLI decoded the same number of frames')
  const dst = new Uint8Array(new SharedArrayBuffer(info.byteLength))
  for (let i = 0; i < FRAMES; i++) {
    const frame = await source.readInto(dst)
    t.equal(frame.seq, BigInt(i + 1))
    const got = unpad(info, dst)
    t.ok(got.equals(reference.subarray(i * size, (i + 1) * size)), `frame ${i} is exact`)
  }
  await t.rejects(source.readInto(dst), { code: 'END_OF_STREAM' }, 'a file without loop ends')
})

for (const pixFmt of ['rgb24', 'bgr24', 'nv12', 'gray'] as const) {
  t.test(`${pixFmt} conversion matches the CLI within rounding`, async (t) => {
    const dir = tempDir(t)
    const clip = makeClip(dir, 'clip.mp4', { frames: 3 })
    const reference = cliFrames(clip, pixFmt)
    const source = await Source.open(fileSpec(clip), { output: { pixFmt } })
    t.teardown(() => source.close())
    const info = source.info
    t.equal(info.pixFmt, pixFmt)
    const size = frameSize(info)
    t.equal(reference.length, size * 3)
    const dst = new Uint8Array(info.byteLength)
    for (let i = 0; i < 3; i++) {
      await source.readInto(dst)
      const diff = difference(unpad(info, dst), reference.subarray(i * size, (i + 1) * size))
      t.ok(diff.max <= 2, `frame ${i}: largest difference ${diff.max} <= 2`)
      t.ok(diff.mean < 0.5, `frame ${i}: mean difference ${diff.mean.toFixed(3)} < 0.5`)
    }
  })
}

t.test('crop and scale match the CLI crop and scale filters', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'clip.mp4', { frames: 2 })
  const cropped = cliFrames(clip, 'yuv420p', 'crop=160:120:80:40')
  const source = await Source.open(fileSpec(clip), { output: { crop: { x: 80, y: 40, width: 160, height: 120 } } })
  t.teardown(() => source.close())
  t.equal(source.info.width, 160)
  t.equal(source.info.height, 120)
  const dst = new Uint8Array(source.info.byteLength)
  await source.readInto(dst)
  t.ok(unpad(source.info, dst).equals(cropped.subarray(0, frameSize(source.info))), 'a crop is an exact copy')

  const scaled = cliFrames(clip, 'yuv420p', 'scale=160:120')
  const small = await Source.open(fileSpec(clip), { output: { width: 160 } })
  t.teardown(() => small.close())
  t.equal(small.info.height, 120, 'the other side keeps the aspect ratio')
  const out = new Uint8Array(small.info.byteLength)
  await small.readInto(out)
  const diff = difference(unpad(small.info, out), scaled.subarray(0, frameSize(small.info)))
  t.ok(diff.max <= 2, `scaled: largest difference ${diff.max} <= 2`)
})

t.test('odd sizes keep the ring layout (64-byte strides, rounded-up chroma)', async (t) => {
  const dir = tempDir(t)
  // x264 and testsrc2 insist on even sizes: scale raw video to an odd size
  const clip = makeClip(dir, 'odd.nut', { size: '98x52', frames: 2, codec: 'rawvideo', extra: ['-vf', 'scale=97:51'] })
  const source = await Source.open(fileSpec(clip))
  t.teardown(() => source.close())
  const info = source.info
  t.same(
    info.planes,
    [
      { offset: 0, stride: 128, width: 97, height: 51 },
      { offset: 128 * 51, stride: 64, width: 49, height: 26 },
      { offset: 128 * 51 + 64 * 26, stride: 64, width: 49, height: 26 },
    ],
  )
  t.equal(info.byteLength, 128 * 51 + 2 * 64 * 26)
  const reference = cliFrames(clip, 'yuv420p')
  const dst = new Uint8Array(info.byteLength)
  await source.readInto(dst)
  t.ok(unpad(info, dst).equals(reference.subarray(0, frameSize(info))), 'odd-size frame is exact')
})

t.test('H.265 decodes byte-identical to the CLI', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'hevc.mp4', { frames: 4, codec: 'libx265', extra: ['-x265-params', 'log-level=none'] })
  const reference = cliFrames(clip, 'yuv420p')
  const source = await Source.open(fileSpec(clip))
  t.teardown(() => source.close())
  t.equal(source.info.codec, 'hevc')
  const size = frameSize(source.info)
  const dst = new Uint8Array(source.info.byteLength)
  for (let i = 0; i < 4; i++) {
    await source.readInto(dst)
    t.ok(unpad(source.info, dst).equals(reference.subarray(i * size, (i + 1) * size)), `frame ${i} is exact`)
  }
})

// What USB cameras send: MJPEG (full-range 4:2:2) and raw YUYV, converted to yuv420p like the CLI does.
for (const [name, codec, pixFmt] of [
  ['MJPEG', 'mjpeg', 'yuvj422p'],
  ['raw YUYV', 'rawvideo', 'yuyv422'],
] as const) {
  t.test(`${name} converts to yuv420p like the CLI`, async (t) => {
    const dir = tempDir(t)
    const clip = makeClip(dir, `${codec}.mkv`, { frames: 3, codec, extra: ['-pix_fmt', pixFmt] })
    const reference = cliFrames(clip, 'yuv420p')
    const source = await Source.open(fileSpec(clip))
    t.teardown(() => source.close())
    t.equal(source.info.sourcePixFmt, pixFmt)
    t.equal(source.info.pixFmt, 'yuv420p')
    const size = frameSize(source.info)
    t.equal(reference.length, size * 3)
    const dst = new Uint8Array(source.info.byteLength)
    for (let i = 0; i < 3; i++) {
      await source.readInto(dst)
      const diff = difference(unpad(source.info, dst), reference.subarray(i * size, (i + 1) * size))
      t.ok(diff.max <= 2, `frame ${i}: largest difference ${diff.max} <= 2`)
    }
  })
}
