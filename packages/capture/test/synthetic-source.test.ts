import t from 'tap'
import { frameLayout, PIXEL_FORMAT_NAMES } from '@heart/ring'
import { checkSyntheticFrame, drawSyntheticFrame, openSynthetic, syntheticBaseRow } from '../src/synthetic-source.js'
import { parseSource } from '../src/sources/registry.js'
import type { OpenRequest } from '../src/decoder.js'

t.test('every pixel format draws a pattern the checker recognises, frame by frame', async (t) => {
  for (const pixFmt of PIXEL_FORMAT_NAMES) {
    const layout = frameLayout(97, 33, pixFmt)
    const bytes = new Uint8Array(layout.byteLength)
    const base = syntheticBaseRow(layout.planes[0]!.stride)
    for (const n of [0, 1, 255, 256, 1001]) {
      drawSyntheticFrame(bytes, layout, n)
      t.same(checkSyntheticFrame(bytes, layout, base), { frameMod256: n & 0xff, badRows: 0 }, `${pixFmt} frame ${n}`)
    }
  }
})

t.test('a torn frame is caught row by row', async (t) => {
  const layout = frameLayout(64, 16, 'yuv420p')
  const bytes = new Uint8Array(layout.byteLength)
  const base = syntheticBaseRow(64)
  drawSyntheticFrame(bytes, layout, 5)
  // The bottom half of the luma comes from the next frame, as a torn write would leave it.
  const next = new Uint8Array(layout.byteLength)
  drawSyntheticFrame(next, layout, 6)
  bytes.set(next.subarray(8 * 64, 16 * 64), 8 * 64)
  t.equal(checkSyntheticFrame(bytes, layout, base).badRows, 8)
  bytes[layout.planes[2]!.offset + 3] ^= 1
  t.equal(checkSyntheticFrame(bytes, layout, base).badRows, 9)
})

t.test('openSynthetic paces frames at the configured rate and stamps them', async (t) => {
  const spec = parseSource('synthetic://?size=320x240&fps=100')
  const request = { spec, pixFmt: 'nv12' } as unknown as OpenRequest
  const controller = new AbortController()
  const source = await openSynthetic(request, controller.signal)
  t.match(source.info, { codec: 'synthetic', width: 320, height: 240, fps: 100, backend: 'synthetic' })
  const layout = frameLayout(320, 240, 'nv12')
  const dst = new Uint8Array(layout.byteLength)
  const base = syntheticBaseRow(layout.planes[0]!.stride)
  let first = 0n
  let last = 0n
  for (let i = 0; i < 10; i++) {
    const frame = (await source.read(dst, controller.signal))!
    t.ok(frame.captureTsNs > last, 'monotonic capture stamps')
    t.ok(frame.decodeTsNs >= frame.captureTsNs)
    if (i === 0) first = frame.captureTsNs
    last = frame.captureTsNs
    t.same(checkSyntheticFrame(dst, layout, base), { frameMod256: i, badRows: 0 })
  }
  // Frames are due every 10 ms; a wait of 1 ms or less is skipped, so allow that much early.
  const spanMs = Number(last - first) / 1e6
  t.ok(spanMs >= 80, `10 frames at 100 fps span about 90 ms of capture time (${spanMs.toFixed(1)} ms)`)
  controller.abort()
  t.equal(await source.read(dst, controller.signal), null, 'an aborted read returns at once')
  source.close()
})
