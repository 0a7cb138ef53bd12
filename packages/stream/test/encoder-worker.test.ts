// The encoder worker under the real kernel: frames go through a real ring to
// the worker thread, JPEGs come back through the share into the hub.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Kernel } from '@heart/kernel'
import { frameLayout, type FrameRing, type PixelFormatName } from '@heart/ring'
import { connectEncoder, encoderConsumerSpec, DEFAULT_ENCODER_NAME } from '../src/encoder-service.js'
import { JpegShare } from '../src/jpeg-share.js'
import { LiveFeed } from '../src/live-feed.js'
import { MjpegHub } from '../src/mjpeg-hub.js'
import { streamRoutes } from '../src/routes.js'
import type { EncodedFrame } from '../src/types.js'
import { startServer } from './helpers/server.js'
import { sleep, waitFor } from '@heart/telemetry/testing'
import { watch } from './helpers/viewer.js'

async function joined(ring: FrameRing): Promise<void> {
  await waitFor(() => ring.consumerStats().some((s) => s.state === 'active' || s.state === 'joining'), 'the encoder to join the ring')
}

/** A frame whose luma is a horizontal gradient shifted by `shift`, chroma neutral. */
function paint(bytes: Uint8Array, width: number, height: number, pixFmt: PixelFormatName, shift: number): ReturnType<typeof frameLayout> {
  const layout = frameLayout(width, height, pixFmt)
  const y = layout.planes[0]!
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) bytes[y.offset + row * y.stride + col] = (col + shift) & 0xff
  }
  for (const plane of layout.planes.slice(1)) bytes.fill(128, plane.offset, plane.offset + plane.stride * plane.height)
  return layout
}

function startKernel(t: Test, W: number, H: number, pixFmt: PixelFormatName) {
  const kernel = new Kernel({ supervisor: { restartInitialMs: 50 } })
  t.teardown(() => kernel.stop())
  const ring = kernel.createRing('camera', { slotBytes: frameLayout(W, H, pixFmt).byteLength, maxConsumers: 2, defaultDepth: 2 })
  return { kernel, ring }
}

// The small camera the fake-encoder tests publish: the fake encoder
// (fixtures/fake-encoder.js) answers each frame with a JSON "JPEG" saying
// what it was given, so a test can check what reached the encoder.
const W = 64
const H = 48

/** A kernel whose encoder consumer runs the fake encoder at `fps`; resolves once it has joined the ring. */
async function fakeEncoderRig(t: Test, pixFmt: PixelFormatName, fps: number, restart?: { initialMs: number }) {
  const { kernel, ring } = startKernel(t, W, H, pixFmt)
  const share = JpegShare.create(4096)
  const hub = new MjpegHub()
  t.teardown(connectEncoder(share, hub))
  // The encoder works only while someone watches.
  watch(hub)
  kernel.startConsumer({ ...encoderConsumerSpec({ ring: 'camera', share, config: { fps, encoderModule: FAKE_ENCODER } }), ...(restart ? { restart } : {}) })
  kernel.start()
  await joined(ring)
  return { kernel, hub, producer: ring.producer() }
}

const FAKE_ENCODER = new URL('./fixtures/fake-encoder.js', import.meta.url).href

t.test('frames through a real ring come back as JPEGs from the native encoder, in order, with their seq', async (t) => {
  const W = 640
  const H = 360
  const { kernel, ring } = startKernel(t, W, H, 'yuv420p')
  const share = JpegShare.create()
  const hub = new MjpegHub()
  const feed = new LiveFeed()
  const stop = connectEncoder(share, hub, feed)
  t.teardown(stop)
  const got: EncodedFrame[] = []
  hub.onPublish((f) => got.push(f))
  watch(hub)
  kernel.startConsumer(encoderConsumerSpec({ ring: 'camera', share, config: { fps: 100, width: 320, quality: 80 } }))
  kernel.start()
  await joined(ring)

  const producer = ring.producer()
  const published: bigint[] = []
  for (let i = 0; i < 12; i++) {
    const slot = producer.beginWrite()
    if (!slot) continue
    const layout = paint(slot.bytes, W, H, 'yuv420p', i * 16)
    const now = process.hrtime.bigint()
    published.push(producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: W, height: H, pixFmt: 'yuv420p', planes: layout.planes }))
    await sleep(40) // slower than the cap, so the depth-1 consumer need not drop
  }
  await waitFor(() => got.length > 0 && got.at(-1)!.meta.seq === published.at(-1), 'the last frame to come back encoded')
  t.ok(got.length >= 6, `most frames were encoded (${got.length} of ${published.length})`)
  const seqs = got.map((f) => f.meta.seq)
  t.same(seqs, [...seqs].sort((a, b) => (a < b ? -1 : 1)), 'in publish order')
  t.ok(seqs.every((s) => published.includes(s)), 'each JPEG names the seq of a published frame')
  const last = got.at(-1)!
  t.match(last.meta, { srcWidth: 640, srcHeight: 360, width: 320, height: 180 })
  t.ok(last.meta.encodeUs > 0)
  t.equal(last.jpeg.readUInt16BE(0), 0xffd8, 'a JPEG: SOI')
  t.equal(last.jpeg.readUInt16BE(last.jpeg.length - 2), 0xffd9, 'a JPEG: EOI')

  // ffprobe reads it as a 320x180 JPEG.
  const dir = mkdtempSync(join(tmpdir(), 'heart-stream-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'f.jpg'), last.jpeg)
  const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', join(dir, 'f.jpg')], { encoding: 'utf8' })
  t.equal(probe.trim(), 'mjpeg,320,180')

  t.match(feed.snapshot().frame, { seq: String(last.meta.seq), width: 320 }, 'frame metadata reaches the live feed')
  const health = kernel.report()
  t.ok(health.consumers[DEFAULT_ENCODER_NAME], 'the encoder shows in /health under its consumer name')
  t.ok(health.consumers[DEFAULT_ENCODER_NAME]!.delivered >= got.length, 'every JPEG came from a delivered frame')
})

t.test('the rate cap holds: frames over it are counted by the ring as rate_limited', async (t) => {
  const { kernel, hub, producer } = await fakeEncoderRig(t, 'nv12', 5)
  // 40 frames whose capture stamps are 10 ms apart: 0.4 s of video at 100 fps.
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < 40; i++) {
    const slot = producer.beginWrite()
    if (!slot) continue
    const layout = paint(slot.bytes, W, H, 'nv12', i)
    const ts = t0 + BigInt(i) * 10_000_000n
    producer.commit(slot, { captureTsNs: ts, decodeTsNs: ts, width: W, height: H, pixFmt: 'nv12', planes: layout.planes })
    await sleep(5)
  }
  await waitFor(() => {
    const c = kernel.report().consumers[DEFAULT_ENCODER_NAME]
    return !!c && c.delivered + [...Object.values(c.dropped), ...Object.values(c.skipped)].reduce((a, b) => a + b, 0) >= 40
  }, 'the ring to account for every frame')
  const books = kernel.report().consumers[DEFAULT_ENCODER_NAME]!
  t.ok(books.delivered >= 1 && books.delivered <= 3, `at 5 fps, 0.4 s of capture gives 2 frames, maybe 3 (${books.delivered})`)
  t.ok((books.skipped.rate_limited ?? 0) >= 30, `the rest are skipped as rate_limited (${JSON.stringify(books.skipped)})`)
  t.equal(books.dropped.rate_limited, undefined, 'intended skips are never counted as drops')
  await waitFor(() => hub.stats().published === books.delivered, 'the delivered frames to be encoded')
  const info = JSON.parse(hub.latest()!.jpeg.subarray(2, -2).toString())
  t.match(info, { pixFmt: 'nv12', w: 64, h: 48, q: 75 }, 'the fake encoder got the slot in its own format and the configured size')
})

t.test('a run of failed encodes crashes the worker; after the restart JPEGs flow again through the same share', async (t) => {
  const { kernel, hub, producer } = await fakeEncoderRig(t, 'gray', 200, { initialMs: 50 })
  const layout = frameLayout(W, H, 'gray')
  const send = (first: number): void => {
    const slot = producer.beginWrite()
    if (!slot) return
    slot.bytes.fill(first, 0, layout.byteLength)
    const now = process.hrtime.bigint()
    producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: W, height: H, pixFmt: 'gray', planes: layout.planes })
  }
  const crashes = () => kernel.report().workers[DEFAULT_ENCODER_NAME]?.crashes ?? 0
  // Poisoned frames until the worker gives up (30 failures in a row).
  const deadline = Date.now() + 20_000
  while (crashes() === 0 && Date.now() < deadline) {
    send(0xee)
    await sleep(10)
  }
  t.equal(crashes(), 1, 'the worker crashed after the failures')
  t.match(kernel.report().workers[DEFAULT_ENCODER_NAME]!.last_crash, /poisoned frame/)
  t.equal(hub.stats().published, 0)
  // Good frames: the restarted worker attaches to the same share and encodes them.
  await waitFor(() => {
    send(7)
    return hub.stats().published > 0
  }, 'JPEGs after the restart')
  t.match(JSON.parse(hub.latest()!.jpeg.subarray(2, -2).toString()), { first: 7 })
})

t.test('an encoder module that cannot be loaded crashes the service with a clear reason', async (t) => {
  const { kernel } = startKernel(t, 64, 48, 'gray')
  const share = JpegShare.create(4096)
  kernel.startConsumer({ ...encoderConsumerSpec({ ring: 'camera', share, config: { encoderModule: 'no-such-encoder-module' } }), restart: { initialMs: 60_000 } })
  kernel.start()
  await waitFor(() => (kernel.report().workers[DEFAULT_ENCODER_NAME]?.crashes ?? 0) > 0, 'the crash to be recorded')
  t.match(kernel.report().workers[DEFAULT_ENCODER_NAME]!.last_crash, /no-such-encoder-module.*must export encodeJpeg/)
})

t.test('bad config is refused on the main thread, before a worker starts', async (t) => {
  t.throws(() => encoderConsumerSpec({ ring: 'camera', share: JpegShare.create(4096), config: { fps: -1 } }), { code: 'STREAM_CONFIG' })
  const spec = encoderConsumerSpec({ ring: 'camera', share: JpegShare.create(4096), config: { fps: 12 }, name: 'downlink' })
  t.match(spec, { name: 'downlink', ring: 'camera', consumer: { depth: 1, maxLeases: 1, fpsCap: 12 }, app: { fps: 12 } })
  t.ok(spec.shared.jpegs instanceof SharedArrayBuffer)
  t.match(spec.entry.href, /encoder-worker\.js$/)
})

/** Publishes one small gray frame whose first byte is `first`. */
function sendGray(producer: ReturnType<FrameRing['producer']>, first = 7): void {
  const layout = frameLayout(W, H, 'gray')
  const slot = producer.beginWrite()
  if (!slot) return
  slot.bytes.fill(first, 0, layout.byteLength)
  const now = process.hrtime.bigint()
  producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: W, height: H, pixFmt: 'gray', planes: layout.planes })
}

/** A kernel with the fake encoder on a gray camera, nobody watching yet; resolves once the worker runs. */
async function idleEncoderRig(t: Test) {
  const { kernel, ring } = startKernel(t, W, H, 'gray')
  const share = JpegShare.create(4096)
  const hub = new MjpegHub()
  t.teardown(connectEncoder(share, hub))
  kernel.startConsumer(encoderConsumerSpec({ ring: 'camera', share, config: { fps: 200, encoderModule: FAKE_ENCODER } }))
  kernel.start()
  await waitFor(() => kernel.report().workers[DEFAULT_ENCODER_NAME]?.state === 'running', 'the encoder worker to run')
  const inRing = () => ring.consumerStats().some((c) => c.name === DEFAULT_ENCODER_NAME && (c.state === 'active' || c.state === 'joining'))
  return { kernel, ring, share, hub, producer: ring.producer(), inRing }
}

t.test('with no viewer the encoder takes no frames and no drops are counted; a viewer starts it; it stops after the last one leaves', async (t) => {
  const { kernel, hub, producer, inRing } = await idleEncoderRig(t)
  for (let i = 0; i < 30; i++) {
    sendGray(producer)
    await sleep(5)
  }
  t.equal(inRing(), false, 'nobody watches: the encoder is not in the ring')
  t.equal(hub.stats().published, 0, 'and encoded nothing')
  t.equal(kernel.report().consumers[DEFAULT_ENCODER_NAME], undefined, 'the ring has no books for it: no frame published to it, none dropped')

  const first = watch(hub)
  const second = watch(hub)
  await waitFor(() => {
    sendGray(producer)
    return hub.stats().published >= 3
  }, 'JPEGs once a viewer watches')
  t.equal(inRing(), true, 'the encoder joined the ring')
  first.detach()
  const stillWatched = hub.stats().published
  await waitFor(() => {
    sendGray(producer)
    return hub.stats().published >= stillWatched + 3
  }, 'JPEGs while one viewer is left')

  second.detach()
  await waitFor(() => {
    sendGray(producer)
    return !inRing()
  }, 'the encoder to leave the ring after the last viewer')
  const encodedWhenLeft = hub.stats().published
  for (let i = 0; i < 30; i++) {
    sendGray(producer)
    await sleep(5)
  }
  t.equal(hub.stats().published, encodedWhenLeft, 'no JPEG after the last viewer left')
  const books = kernel.report().consumers[DEFAULT_ENCODER_NAME]!
  t.equal(books.state, 'idle', '/health shows it idle, not gone: its worker still runs')
  t.same(books.dropped, { [`${DEFAULT_ENCODER_NAME}_slow`]: 0, reclaimed: 0, stale: 0 }, 'no frame counted as dropped, while watched or after')
  t.equal(books.delivered, books.published - (books.skipped.rate_limited ?? 0) - (books.skipped.ai_locked ?? 0), 'its books balance')
  t.equal(kernel.report().workers[DEFAULT_ENCODER_NAME]!.crashes, 0)

  watch(hub)
  await waitFor(() => {
    sendGray(producer)
    return hub.stats().published > encodedWhenLeft
  }, 'JPEGs again for a new viewer')
  t.equal(kernel.report().consumers[DEFAULT_ENCODER_NAME]!.state, 'active', 'back in the ring')
})

t.test('GET /snapshot.jpg with no viewer wakes the encoder for the newest frame; 503 when no frame comes', async (t) => {
  const { hub, producer, inRing } = await idleEncoderRig(t)
  const feed = new LiveFeed()
  const server = await startServer(streamRoutes({ hub, feed, snapshotWaitMs: 3000 }))
  t.teardown(() => server.close())
  // The camera publishes a new frame every 20 ms, whatever the encoder does.
  let shade = 1
  const camera = setInterval(() => sendGray(producer, shade), 20)
  t.teardown(() => clearInterval(camera))
  await sleep(100)
  t.equal(inRing(), false, 'idle before the request')
  shade = 42
  const snap = await fetch(`${server.url}/snapshot.jpg`)
  t.equal(snap.status, 200, 'the snapshot is answered')
  const info = JSON.parse(Buffer.from(await snap.arrayBuffer()).subarray(2, -2).toString())
  t.match(info, { first: 42 }, 'with a frame from after the request')
  await waitFor(() => !inRing(), 'the encoder to go idle again after the snapshot')
  t.equal(hub.stats().viewers, 0)

  clearInterval(camera)
  const short = await startServer(streamRoutes({ hub, feed, snapshotWaitMs: 300 }))
  t.teardown(() => short.close())
  await sleep(400) // the last JPEG is stale now
  const none = await fetch(`${short.url}/snapshot.jpg`)
  t.equal(none.status, 503, 'no frame from the camera: a clear 503 after the bounded wait')
  t.equal(none.headers.get('retry-after'), '1')
  t.match((await none.json()).error, /no frame has been encoded in 300 ms/)
})
