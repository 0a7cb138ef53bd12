import { once } from 'node:events'
import { get, type IncomingMessage } from 'node:http'
import t, { type Test } from 'tap'
import { LiveFeed } from '../src/live-feed.js'
import { MJPEG_BOUNDARY, MjpegHub } from '../src/mjpeg-hub.js'
import { streamRoutes } from '../src/routes.js'
import { ffmpegJpegs, fakeFrame } from './helpers/frames.js'
import { MultipartParser, type Part } from './helpers/multipart.js'
import { startServer } from './helpers/server.js'

async function fetchBody(url: string): Promise<{ res: IncomingMessage; body: Buffer }> {
  const req = get(url)
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return { res, body: Buffer.concat(chunks) }
}

async function setup(t: Test) {
  const hub = new MjpegHub()
  const feed = new LiveFeed()
  const server = await startServer(streamRoutes({ hub, feed, snapshotWaitMs: 50 }))
  t.teardown(() => {
    hub.close()
    feed.close()
    return server.close()
  })
  return { hub, feed, url: server.url }
}

t.test('GET /stream.mjpeg streams real JPEGs as multipart parts a real client can parse', async (t) => {
  const { hub, url } = await setup(t)
  const jpegs = ffmpegJpegs(4, 320, 240)
  t.equal(new Set(jpegs.map((j) => j.toString('base64'))).size, 4, 'ffmpeg made 4 distinct JPEGs')

  const req = get(`${url}/stream.mjpeg`)
  t.teardown(() => req.destroy())
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`)
  t.match(res.headers['cache-control'], /no-store/)

  const parts: Part[] = []
  const parser = new MultipartParser(MJPEG_BOUNDARY, (p) => parts.push(p))
  res.on('data', (chunk: Buffer) => parser.push(chunk))
  for (let i = 0; i < jpegs.length; i++) {
    const frame = fakeFrame(100 + i)
    hub.publish({ jpeg: jpegs[i]!, meta: frame.meta })
    while (parts.length < i + 1) await once(res, 'data')
  }
  t.equal(parts.length, 4)
  parts.forEach((part, i) => {
    t.equal(part.headers['content-type'], 'image/jpeg')
    t.equal(part.headers['content-length'], String(jpegs[i]!.length))
    t.equal(part.headers['x-frame-seq'], String(100 + i))
    t.equal(part.headers['x-capture-ts'], String(1_000_000 * (100 + i)))
    t.ok(part.body.equals(jpegs[i]!), `part ${i} is JPEG ${i}, byte for byte`)
    t.equal(part.body.readUInt16BE(0), 0xffd8, 'starts with SOI')
    t.equal(part.body.readUInt16BE(part.body.length - 2), 0xffd9, 'ends with EOI')
  })
  t.equal(hub.stats().viewers, 1)
  req.destroy()
  while (hub.stats().viewers > 0) await new Promise((r) => setTimeout(r, 5))
  t.pass('the viewer is removed when the client goes away')
})

t.test('GET /snapshot.jpg answers 503 before the first frame, then the latest JPEG with its seq', async (t) => {
  const { hub, url } = await setup(t)
  const before = await fetchBody(`${url}/snapshot.jpg`)
  t.equal(before.res.statusCode, 503)
  t.equal(before.res.headers['retry-after'], '1')
  t.match(JSON.parse(before.body.toString()).error, /no frame has been encoded/)

  // A snapshot request that arrives before the first frame waits for it.
  const slowServer = await startServer(streamRoutes({ hub, feed: new LiveFeed(), snapshotWaitMs: 5000 }))
  t.teardown(() => slowServer.close())
  const pending = fetchBody(`${slowServer.url}/snapshot.jpg`)
  await new Promise((r) => setTimeout(r, 50))
  hub.publish(fakeFrame(41, 3000))
  const waited = await pending
  t.equal(waited.res.statusCode, 200, 'a waiting snapshot request is answered by the next frame')
  t.equal(waited.res.headers['x-frame-seq'], '41')

  hub.publish(fakeFrame(42, 5000))
  const after = await fetchBody(`${url}/snapshot.jpg`)
  t.equal(after.res.statusCode, 200)
  t.equal(after.res.headers['content-type'], 'image/jpeg')
  t.equal(after.res.headers['x-frame-seq'], '42')
  t.equal(after.res.headers['x-capture-ts'], '42000000')
  t.match(JSON.parse(after.res.headers['x-frame-meta'] as string), { seq: '42', srcWidth: 1920, bytes: 5000 })
  t.ok(after.body.equals(fakeFrame(42, 5000).jpeg))
})

t.test('GET /frames/latest.json and GET /events carry the metadata alongside the video', async (t) => {
  const { hub, feed, url } = await setup(t)
  hub.onPublish((f) => feed.publishFrame(f))
  feed.publish('motion', { seq: 5, captureTsNs: '123', boxes: [{ x: 1, y: 2, w: 3, h: 4 }] })

  const req = get(`${url}/events`)
  t.teardown(() => req.destroy())
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8')
  res.setEncoding('utf8')
  let text = ''
  const events: Array<{ event: string; data: unknown }> = []
  res.on('data', (chunk: string) => {
    text += chunk
    let end
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end)
      text = text.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (event && data) events.push({ event, data: JSON.parse(data) })
    }
  })
  const waitFor = async (n: number) => {
    while (events.length < n) await once(res, 'data')
  }
  await waitFor(1)
  t.match(events[0], { event: 'motion', data: { seq: '5', boxes: [{ x: 1, y: 2, w: 3, h: 4 }] } }, 'the latest motion is sent on connect')

  hub.publish(fakeFrame(9))
  feed.publish('detection', { seq: 9, latencyMs: 12, detections: [{ label: 'person', confidence: 0.9, box: { x: 10, y: 20, w: 30, h: 40 } }] })
  feed.publish('thermal.frame', { seq: 3, tsNs: '77', ta: 24.5, temperatures: Array.from({ length: 768 }, (_, i) => 20 + i / 100) })
  t.equal(feed.publish('health.change', {}), false, 'other event types are ignored')
  await waitFor(4)
  t.match(events[1], { event: 'frame', data: { seq: '9', captureTsNs: '9000000', srcWidth: 1920, srcHeight: 1080, width: 640, bytes: 1000 } })
  t.match(events[2], { event: 'detection', data: { seq: '9', detections: [{ label: 'person', confidence: 0.9 }] } })
  t.match(events[3], { event: 'thermal', data: { seq: '3', ta: 24.5, min: 20, max: 27.67, width: 32, height: 24 } })
  t.equal((events[3]!.data as { temperatures: number[] }).temperatures.length, 768)

  const latest = await fetchBody(`${url}/frames/latest.json`)
  t.match(JSON.parse(latest.body.toString()), {
    frame: { seq: '9' },
    motion: { seq: '5' },
    detection: { seq: '9' },
    thermal: { seq: '3' },
    forFrame: { motion: null, detection: { seq: '9', latencyMs: 12 } },
    stream: { published: 1, latestSeq: '9' },
  })
})

t.test('GET / serves the live view and its assets from this package, no external URLs', async (t) => {
  const { url } = await setup(t)
  const page = await fetchBody(`${url}/`)
  t.equal(page.res.statusCode, 200)
  t.match(page.res.headers['content-type'], /text\/html/)
  const html = page.body.toString()
  t.match(html, /<img id="video" src="\/stream.mjpeg"/)
  for (const asset of ['/live/live.js', '/live/live.css']) {
    t.match(html, asset)
    const res = await fetchBody(`${url}${asset}`)
    t.equal(res.res.statusCode, 200, `${asset} is served`)
    t.notMatch(res.body.toString(), /https?:\/\//, `${asset} loads nothing from elsewhere`)
  }
  t.notMatch(html, /https?:\/\//, 'the page loads nothing from elsewhere')
})

t.test('the streaming routes name their kind, so the server can cap viewers; the rest are plain requests', async (t) => {
  const hub = new MjpegHub()
  const feed = new LiveFeed()
  t.teardown(() => {
    hub.close()
    feed.close()
  })
  const kinds = Object.fromEntries(streamRoutes({ hub, feed }).map((r) => [r.path, r.stream ?? null]))
  t.same(kinds, {
    '/': null,
    '/live/live.js': null,
    '/live/live.css': null,
    '/stream.mjpeg': 'mjpeg',
    '/snapshot.jpg': null,
    '/frames/latest.json': null,
    '/events': 'sse',
  })
})
