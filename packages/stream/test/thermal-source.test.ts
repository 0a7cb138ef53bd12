import t from 'tap'
import { FrameRing, frameLayout } from '@heart/ring'
import { LiveFeed } from '../src/live-feed.js'
import { thermalRingSource } from '../src/thermal-source.js'

function thermalRing() {
  const layout = frameLayout(32, 24, 'grayf32')
  const ring = FrameRing.create({ slotBytes: layout.byteLength, auxWords: 8, maxConsumers: 2, defaultDepth: 2 })
  const producer = ring.producer()
  const publish = (base: number, ta: number): bigint => {
    const slot = producer.beginWrite()!
    const plane = layout.planes[0]!
    const view = new DataView(slot.bytes.buffer, slot.bytes.byteOffset, slot.bytes.byteLength)
    for (let y = 0; y < 24; y++) for (let x = 0; x < 32; x++) view.setFloat32(plane.offset + y * plane.stride + x * 4, base + y + x / 100, true)
    const now = process.hrtime.bigint()
    return producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: 32, height: 24, pixFmt: 'grayf32', planes: layout.planes, aux: [ta, base, base + 23.31] })
  }
  return { ring, publish }
}

t.test('reads the newest thermal frame from the ring, honouring the plane stride and aux words', async (t) => {
  const { ring, publish } = thermalRing()
  const source = thermalRingSource(ring)
  t.teardown(() => source.close())
  t.equal(source.latest(), null, 'null before the first frame')
  publish(20, 25.5)
  publish(30, 26.5)
  const seq = publish(40, 27.5)
  const latest = source.latest()!
  t.match(latest, { seq: String(seq), ta: 27.5, min: 40, width: 32, height: 24 })
  t.ok(Math.abs(latest.max! - 63.31) < 1e-4)
  const temps = latest.temperatures!
  t.equal(temps.length, 768)
  t.ok(Math.abs(temps[0]! - 40) < 1e-4, 'first pixel')
  t.ok(Math.abs(temps[5 * 32 + 7]! - (40 + 5 + 0.07)) < 1e-4, 'row 5, column 7')
  t.ok(Math.abs(temps[767]! - (40 + 23 + 0.31)) < 1e-4, 'last pixel')
  t.equal(source.latest(), latest, 'the same frame again when nothing new was published')
  t.equal(ring.consumerStats().find((c) => c.name === 'live_view')?.leases, 0, 'no lease is kept')
})

t.test('fills thermal.frame events that carry no temperatures for the live feed', async (t) => {
  const { ring, publish } = thermalRing()
  const source = thermalRingSource(ring, { name: 'heatmap' })
  t.teardown(() => source.close())
  const feed = new LiveFeed({ thermalLatest: () => source.latest() })
  publish(0, 1)
  publish(10, 22.25)
  // The contract's event: seq, tsNs, ta, min, max (and thermal's mean).
  feed.publish('thermal.frame', { seq: 77, tsNs: '5', ta: 22.2, min: 10, max: 33.3, mean: 20 })
  const view = feed.snapshot().thermal as { seq: string; ta: number; temperatures: number[] }
  t.equal(view.seq, '77', 'the event names the frame')
  t.equal(view.ta, 22.25, 'Ta from the same ring frame as the temperatures')
  t.equal(view.temperatures.length, 768)
  t.equal(view.temperatures[32], 11, 'rounded to 0.1 °C')
})
