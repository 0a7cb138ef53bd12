import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { DeepStackProtocol } from '../src/deepstack.js'
import { DetectionClient } from '../src/detection-client.js'
import type { DetectionResult } from '../src/detection-client.js'
import type { VisionError } from '../src/errors.js'
import type { EncodedImage } from '../src/protocol.js'
import type { FrameView } from '../src/types.js'
import { drawFrame } from './frames.js'
import { jpegSize, parseMultipart, startDeepStackServer } from './servers.js'

/** Collects answers and errors from a client. */
function harness(protocol: DeepStackProtocol, opts: { deadlineMs?: number; maxInFlight?: number; fps?: number } = {}) {
  const results: DetectionResult[] = []
  const errors: VisionError[] = []
  let wake: () => void = () => {}
  const client = new DetectionClient({
    protocol,
    fps: 0,
    ...opts,
    onResult: (r) => {
      results.push(r)
      wake()
    },
    onError: (e) => {
      errors.push(e)
      wake()
    },
  })
  const settled = async (n: number): Promise<void> => {
    while (results.length + errors.length < n) await new Promise<void>((r) => (wake = r))
  }
  return { client, results, errors, settled }
}

t.test('BMP upload: the service sees the picture and boxes map back to frame pixels', async (t) => {
  const server = await startDeepStackServer()
  t.teardown(() => server.close())
  const h = harness(new DeepStackProtocol({ url: server.url, maxWidth: 320, minConfidence: 0.3 }))
  for (const pixFmt of ['yuv420p', 'nv12', 'gray', 'rgb24', 'bgr24'] as const) {
    const frame = drawFrame(1280, 720, pixFmt, { x: 400, y: 200, w: 160, h: 120 }, 7n)
    t.equal(await h.client.submit(frame), 'sent')
    await h.settled(h.results.length + h.errors.length + 1)
  }
  t.same(h.errors, [])
  t.equal(h.results.length, 5)
  const req = server.requests.at(-1)!
  t.match(req.contentType, /^multipart\/form-data; boundary=/)
  t.equal(req.imageType, 'image/bmp')
  t.equal(req.minConfidence, '0.3', 'min_confidence is sent as a form field')
  t.same([req.imageWidth, req.imageHeight], [320, 180], 'scaled to maxWidth keeping the aspect ratio')
  for (const r of h.results) {
    t.equal(r.seq, 7n)
    t.equal(r.detections.length, 1)
    const d = r.detections[0]!
    t.equal(d.label, 'square')
    t.equal(d.confidence, 0.87)
    // One picture pixel is 4 frame pixels.
    t.ok(Math.abs(d.box.x - 400) <= 4 && Math.abs(d.box.y - 200) <= 4, JSON.stringify(d.box))
    t.ok(Math.abs(d.box.w - 160) <= 8 && Math.abs(d.box.h - 120) <= 8, JSON.stringify(d.box))
    t.ok(r.latencyMs > 0)
  }
  await h.client.close()
})

// A real JPEG from the ffmpeg CLI stands in for the native encoder.
async function ffmpegJpeg(frame: FrameView, maxWidth: number): Promise<EncodedImage> {
  const { width, height, planes, bytes } = frame
  const packed: Buffer[] = []
  for (const p of planes) {
    const rowBytes = p === planes[0] ? width : Math.ceil(width / 2)
    for (let y = 0; y < p.height; y++) packed.push(Buffer.from(bytes.subarray(p.offset + y * p.stride, p.offset + y * p.stride + rowBytes)))
  }
  const child = spawn('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-i', '-',
    '-vf', `scale=${maxWidth}:-2`, '-frames:v', '1', '-f', 'mjpeg', '-'], { stdio: ['pipe', 'pipe', 'inherit'] })
  child.stdin.end(Buffer.concat(packed))
  const out: Buffer[] = []
  child.stdout.on('data', (d: Buffer) => out.push(d))
  const [code] = await once(child, 'close')
  if (code !== 0) throw new Error(`ffmpeg exited ${code}`)
  const data = Buffer.concat(out)
  return { data, ...jpegSize(data), type: 'image/jpeg' }
}

t.test('JPEG upload through an injected encoder', async (t) => {
  const server = await startDeepStackServer()
  t.teardown(() => server.close())
  // Credentials in the URL travel as HTTP Basic (behind a reverse proxy, say).
  const h = harness(new DeepStackProtocol({ url: server.url.replace('//', '//user:pa%20ss@') + '/', maxWidth: 480, encode: ffmpegJpeg }))
  await h.client.submit(drawFrame(1920, 1080, 'yuv420p', null, 3n))
  await h.settled(1)
  t.same(h.errors, [])
  const req = server.requests[0]!
  t.equal(req.imageType, 'image/jpeg')
  t.equal(req.authorization, `Basic ${Buffer.from('user:pa ss').toString('base64')}`)
  t.same([req.imageWidth, req.imageHeight], [480, 270])
  // The server answers the quarter box of the picture: (120,67.5)-(240,135) -> frame x4.
  t.same(h.results[0]!.detections[0], { label: 'person', confidence: 0.9, box: { x: 480, y: 270, w: 480, h: 270 } })
})

t.test('service errors, bad answers, slow replies and refused connections', async (t) => {
  const server = await startDeepStackServer()
  t.teardown(() => server.close())
  const frame = drawFrame(320, 240, 'gray', { x: 10, y: 10, w: 20, h: 20 })
  const cases: [import('./servers.js').Mode, string, RegExp][] = [
    [{ kind: 'status', status: 200, contentType: 'application/json', body: '{"success":false,"error":"Unable to load model"}' }, 'DETECTION_SERVICE', /Unable to load model/],
    [{ kind: 'status', status: 500, contentType: 'application/json', body: '{"success":false,"error":"inference crashed"}' }, 'DETECTION_SERVICE', /HTTP 500.*inference crashed/],
    [{ kind: 'status', status: 502, contentType: 'text/html', body: '<html>Bad Gateway</html>' }, 'DETECTION_SERVICE', /HTTP 502.*Bad Gateway/],
    [{ kind: 'status', status: 200, contentType: 'text/html', body: '<html>login</html>' }, 'DETECTION_BAD_RESPONSE', /expected application\/json/],
    [{ kind: 'status', status: 200, contentType: 'application/json', body: '{"success":tru' }, 'DETECTION_BAD_RESPONSE', /not valid JSON/],
    [{ kind: 'status', status: 200, contentType: 'application/json', body: '{"success":true}' }, 'DETECTION_BAD_RESPONSE', /predictions/],
    [{ kind: 'status', status: 200, contentType: 'application/json', body: '{"success":true,"predictions":[{"label":"x"}]}' }, 'DETECTION_BAD_RESPONSE', /lacks/],
  ]
  for (const [mode, code, message] of cases) {
    server.mode = mode
    const h = harness(new DeepStackProtocol({ url: server.url }))
    await h.client.submit(frame)
    await h.settled(1)
    t.equal(h.errors[0]?.code, code, `${mode.kind} ${JSON.stringify(mode).slice(0, 80)}`)
    t.match(h.errors[0]?.message, message)
    t.equal(h.client.stats().failed[code], 1)
  }

  t.test('a wrong path gives the 404 JSON error', async (t) => {
    server.mode = { kind: 'ok' }
    const h = harness(new DeepStackProtocol({ url: server.url, path: '/v1/vision/nothing' }))
    await h.client.submit(frame)
    await h.settled(1)
    t.match(h.errors[0], { code: 'DETECTION_SERVICE', message: /HTTP 404.*no route/ })
  })

  t.test('a slow service: the deadline ends the request, frames meanwhile are skipped, not queued', async (t) => {
    server.mode = { kind: 'hang' }
    const h = harness(new DeepStackProtocol({ url: server.url }), { deadlineMs: 300, maxInFlight: 1 })
    t.equal(await h.client.submit(frame), 'sent')
    for (let i = 0; i < 5; i++) t.equal(await h.client.submit(frame), 'detection_client_slow')
    await h.settled(1)
    t.equal(h.errors[0]?.code, 'DETECTION_TIMEOUT')
    t.match(h.errors[0]?.message, /300 ms deadline/)
    const s = h.client.stats()
    t.equal(s.skipped.detection_client_slow, 5)
    t.equal(s.inFlight, 0, 'the slot is free again after the deadline')
    server.mode = { kind: 'ok', delayMs: 50 }
    t.equal(await h.client.submit(frame), 'sent', 'sending resumes')
    await h.settled(2)
    t.equal(h.results.length, 1)
  })

  t.test('two in flight are allowed when configured', async (t) => {
    server.mode = { kind: 'ok', delayMs: 200 }
    const h = harness(new DeepStackProtocol({ url: server.url }), { maxInFlight: 2 })
    t.same([await h.client.submit(frame), await h.client.submit(frame), await h.client.submit(frame)], ['sent', 'sent', 'detection_client_slow'])
    await h.settled(2)
    t.equal(h.results.length, 2)
  })
})

t.test('a refused connection is reported as unreachable, with no credentials in the message', async (t) => {
  const server = await startDeepStackServer()
  const port = new URL(server.url).port
  await server.close() // nothing listens on this port now
  const h = harness(new DeepStackProtocol({ url: `http://user:secret@127.0.0.1:${port}` }))
  await h.client.submit(drawFrame(64, 48, 'gray', null))
  await h.settled(1)
  t.equal(h.errors[0]?.code, 'DETECTION_UNREACHABLE')
  t.match(h.errors[0]?.message, /ECONNREFUSED/)
  t.notMatch(h.errors[0]?.message, /secret/)
})

t.test('bad options fail clearly; the test multipart parser rejects junk', async (t) => {
  t.throws(() => new DeepStackProtocol({ url: 'ftp://x' }), { code: 'VISION_INVALID_OPTION' })
  t.throws(() => parseMultipart(Buffer.from('x'), 'multipart/form-data'), /boundary/)
})
