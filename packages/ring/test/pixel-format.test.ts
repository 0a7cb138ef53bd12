import t from 'tap'
import { frameLayout, pixelFormatCode, pixelFormatName, PIXEL_FORMAT_NAMES } from '../src/index.js'

t.test('yuv420p 1080p planes are packed with 64-byte strides', async (t) => {
  const l = frameLayout(1920, 1080, 'yuv420p')
  t.same(l.planes, [
    { offset: 0, stride: 1920, width: 1920, height: 1080 },
    { offset: 1920 * 1080, stride: 960, width: 960, height: 540 },
    { offset: 1920 * 1080 + 960 * 540, stride: 960, width: 960, height: 540 },
  ])
  t.equal(l.byteLength, 1920 * 1080 * 1.5)
})

t.test('odd sizes round chroma up and pad rows to 64 bytes', async (t) => {
  const l = frameLayout(101, 51, 'nv12')
  t.equal(l.planes[0]!.stride, 128)
  t.same(l.planes[1], { offset: 128 * 51, stride: 128, width: 51, height: 26 })
  const rgb = frameLayout(10, 2, 'rgb24')
  t.equal(rgb.planes[0]!.stride, 64)
  t.equal(rgb.byteLength, 128)
  t.equal(frameLayout(32, 24, 'grayf32').planes[0]!.stride, 128)
  t.equal(frameLayout(8, 8, 'bgr24').planes.length, 1)
  t.equal(frameLayout(8, 8, 'gray').byteLength, 64 * 8)
})

t.test('bad sizes and formats are refused with a clear error', async (t) => {
  t.throws(() => frameLayout(0, 10, 'gray'), { code: 'RING_INVALID_ARGUMENT', message: /positive integers/ })
  t.throws(() => frameLayout(10, 10, 'yuv422' as never), { message: /unknown pixel format "yuv422"; use one of/ })
})

t.test('format codes round-trip', async (t) => {
  for (const name of PIXEL_FORMAT_NAMES) t.equal(pixelFormatName(pixelFormatCode(name)), name)
  t.throws(() => pixelFormatCode('rgba' as never), { code: 'RING_INVALID_ARGUMENT' })
  t.throws(() => pixelFormatName(99), { message: /code 99/ })
})
