import t from 'tap'
import { BmpEncoder, TensorWriter, placementFor, toFrameBox } from '../src/image.js'
import { drawFrame } from './frames.js'
import { brightBox, decodeBmp } from './servers.js'

t.test('letterbox placement and the way back', async (t) => {
  const p = placementFor(1920, 1080, 640, 640)
  t.same(p, { scaleX: 1 / 3, scaleY: 1 / 3, padX: 0, padY: 140, frameWidth: 1920, frameHeight: 1080 })
  t.same(toFrameBox(100, 240, 200, 340, p), { x: 300, y: 300, w: 300, h: 300 })
  t.same(toFrameBox(-10, 0, 700, 700, p), { x: 0, y: 0, w: 1920, h: 1080 }, 'clipped to the frame')
  const tall = placementFor(480, 640, 320, 320)
  t.equal(tall.padX, 40)
  t.equal(tall.padY, 0)
})

t.test('colour conversion: the same square in every pixel format gives the same tensor', async (t) => {
  const spec = { width: 64, height: 48, layout: 'NHWC', datatype: 'UINT8', letterbox: false } as const
  for (const pixFmt of ['yuv420p', 'nv12', 'gray'] as const) {
    const w = new TensorWriter(spec)
    w.write(drawFrame(128, 96, pixFmt, { x: 32, y: 32, w: 32, h: 32 }))
    const d = w.data
    // Luma 235 with neutral chroma is white; 50 is dark grey (limited range: (50-16)*1.164 = 40).
    t.same([d[(20 * 64 + 20) * 3], d[(20 * 64 + 20) * 3 + 1], d[(20 * 64 + 20) * 3 + 2]], pixFmt === 'gray' ? [235, 235, 235] : [255, 255, 255], pixFmt)
    t.same(brightBox(d, 64, 48, 3), [16, 16, 32, 32], `${pixFmt}: square at half scale`)
  }
  const rgb = new TensorWriter({ ...spec, layout: 'NCHW', channels: 'bgr' })
  rgb.write(drawFrame(128, 96, 'rgb24', { x: 0, y: 0, w: 8, h: 8 }))
  // NCHW with BGR order: plane 0 is blue, plane 2 is red.
  t.same([rgb.data[0], rgb.data[64 * 48], rgb.data[2 * 64 * 48]], [210, 220, 250])
  const bgr = new TensorWriter({ ...spec, datatype: 'FP32' })
  bgr.write(drawFrame(128, 96, 'bgr24', { x: 0, y: 0, w: 8, h: 8 }))
  t.same([...bgr.data.subarray(0, 3)].map((v) => Math.round(v * 255)), [250, 220, 210], 'bgr24 frames are swapped back to RGB, FP32 normalized')
})

t.test('letterbox padding uses the pad value', async (t) => {
  const w = new TensorWriter({ width: 32, height: 32, layout: 'NHWC', datatype: 'UINT8', padValue: 7 })
  const p = w.write(drawFrame(64, 32, 'gray', null))
  t.equal(p.padY, 8)
  t.equal(w.data[0], 7, 'top rows are padding')
  t.equal(w.data[(16 * 32 + 16) * 3], 50, 'the middle is the frame')
})

t.test('BMP encoder writes a picture a decoder reads back', async (t) => {
  const enc = new BmpEncoder()
  const img = enc.encode(drawFrame(641, 360, 'yuv420p', { x: 100, y: 50, w: 200, h: 100 }), 320)
  t.equal(img.width, 320)
  t.equal(img.height, 180)
  const back = decodeBmp(Buffer.from(img.data))
  t.same([back.width, back.height], [320, 180])
  const b = brightBox(back.gray, back.width, back.height)!
  t.ok(Math.abs(b[0] - 50) <= 1 && Math.abs(b[1] - 25) <= 1 && Math.abs(b[2] - 150) <= 1 && Math.abs(b[3] - 75) <= 1, JSON.stringify(b))
})

t.test('unsupported pixel formats and bad specs are refused', async (t) => {
  const w = new TensorWriter({ width: 8, height: 8, layout: 'NCHW', datatype: 'FP32' })
  const f = drawFrame(8, 8, 'gray', null)
  t.throws(() => w.write({ ...f, pixFmt: 'grayf32' }), { code: 'VISION_PIXEL_FORMAT' })
  t.throws(() => new TensorWriter({ width: 8, height: 8, layout: 'NCHW', datatype: 'INT8' as 'UINT8' }), /datatype/)
  t.throws(() => new TensorWriter({ width: 8, height: 8, layout: 'NCHW', datatype: 'UINT8', channels: 'rgba' as 'rgb' }), /channels/)
  t.throws(() => new TensorWriter({ width: 8, height: 8, layout: 'NCHW', datatype: 'UINT8' }, new Uint8Array(3)), /at least 192/)
})
