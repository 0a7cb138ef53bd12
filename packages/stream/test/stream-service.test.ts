// startStream under the real kernel: camera frames become JPEGs on
// /snapshot.jpg and /stream.mjpeg, kernel events and the thermal ring reach
// /frames/latest.json.

import { once } from 'node:events'
import { get, type IncomingMessage } from 'node:http'
import t from 'tap'
import { Kernel } from '@heart/kernel'
import { FrameRing, frameLayout } from '@heart/ring'
import { MJPEG_BOUNDARY } from '../src/mjpeg-hub.js'
import { startStream } from '../src/stream-service.js'
import { MultipartParser, type Part } from './helpers/multipart.js'
import { startServer } from './helpers/server.js'
import { sleep, waitFor } from '@heart/telemetry/testing'

async function getJson(url: string): Promise<any> {
  const res = await fetch(url)
  return res.json()
}

t.test('startStream: encoder worker, hub, live feed and routes working together', async (t) => {
  const kernel = new Kernel()
  t.teardown(() => kernel.stop())
  const W = 320
  const H = 240
  const layout = frameLayout(W, H, 'nv12')
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 2 })
  const thermalLayout = frameLayout(32, 24, 'grayf32')
  const thermalRing = FrameRing.create({ slotBytes: thermalLayout.byteLength, auxWords: 8, maxConsumers: 2 })
  const stream = startStream(kernel, { config: { fps: 30, width: 160 }, thermalRing })
  t.teardown(() => stream.stop())
  kernel.start()
  const server = await startServer(stream.routes)
  t.teardown(() => server.close())

  const req = get(`${server.url}/stream.mjpeg`)
  t.teardown(() => req.destroy())
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  const parts: Part[] = []
  const parser = new MultipartParser(MJPEG_BOUNDARY, (p) => parts.push(p))
  res.on('data', (c: Buffer) => parser.push(c))

  const producer = ring.producer()
  const thermalProducer = thermalRing.producer()
  let lastSeq = -1n
  // The encoder worker joins the ring when it is up; keep producing until JPEGs come back.
  await waitFor(() => ring.consumerStats().some((c) => c.name === 'telemetry_stream'), 'the encoder to join the ring')
  const deadline = Date.now() + 20_000
  for (let i = 0; parts.length < 5 && Date.now() < deadline; i++) {
    const slot = producer.beginWrite()
    if (slot) {
      slot.bytes.fill(16 + (i % 50) * 4, 0, layout.planes[1]!.offset)
      slot.bytes.fill(128, layout.planes[1]!.offset)
      const now = process.hrtime.bigint()
      lastSeq = producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: W, height: H, pixFmt: 'nv12', planes: layout.planes })
    }
    const tslot = thermalProducer.beginWrite()!
    const celsius = 30 + (i % 10)
    new Float32Array(tslot.bytes.buffer, tslot.bytes.byteOffset, 768).fill(celsius)
    const now = process.hrtime.bigint()
    thermalProducer.commit(tslot, { captureTsNs: now, decodeTsNs: now, width: 32, height: 24, pixFmt: 'grayf32', planes: thermalLayout.planes, aux: [21.5, celsius, celsius] })
    kernel.events.push('motion', { seq: String(lastSeq), captureTsNs: '1', boxes: [{ x: 10, y: 10, w: 50, h: 40 }] }, 'movement_detector')
    kernel.events.push('thermal.frame', { seq: i, tsNs: '1', ta: 21.5, min: celsius, max: celsius, mean: celsius }, 'thermal')
    await sleep(60)
  }
  await waitFor(() => parts.length >= 3, 'JPEGs on /stream.mjpeg')
  const part = parts.at(-1)!
  t.equal(part.body.readUInt16BE(0), 0xffd8, 'real JPEGs stream to a viewer')

  const snap = await fetch(`${server.url}/snapshot.jpg`)
  t.equal(snap.status, 200)
  t.equal(snap.headers.get('content-type'), 'image/jpeg')
  t.match(JSON.parse(snap.headers.get('x-frame-meta')!), { srcWidth: 320, srcHeight: 240, width: 160, height: 120 })

  await waitFor(async () => (await getJson(`${server.url}/frames/latest.json`)).thermal !== null, 'a thermal frame in the feed')
  const latest = await getJson(`${server.url}/frames/latest.json`)
  t.match(latest, { frame: { width: 160 }, motion: { boxes: [{ x: 10, w: 50 }] }, thermal: { ta: 21.5, width: 32, height: 24 }, stream: { viewers: 1 } })
  t.equal(latest.thermal.temperatures.length, 768, 'temperatures come from the thermal ring')
  t.equal(latest.thermal.temperatures[0], latest.thermal.min, 'and belong to the same frame as its min')
  t.match(stream.stats(), { viewers: 1, feedClients: 0 })
  t.ok(kernel.report().consumers.telemetry_stream!.delivered >= 3)

  stream.stop()
  await once(res, 'end')
  t.pass('stop() ends the open streams')
})
