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
import type { EncodedFrame } from '../src/types.js'
import { sleep, waitFor } from '@heart/telemetry/testing'

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
  const encoderModule = new URL('./fixtures/fake-encoder.js', import.meta.url).href
  kernel.startConsumer({ ...encoderConsumerSpec({ ring: 'camera', share, config: { fps, encoderModule } }), ...(restart ? { restart } : {}) })
  kernel.start()
  await joined(ring)
  return { kernel, hub, producer: ring.producer() }
}

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
