// The Open Inference Protocol client against a real v2 server: Seldon's
// MLServer (from PyPI, installed by scripts/setup.sh) serving the fixture
// model that boxes the brightest region of the tensor it receives. Checks
// heart's request layout, tensor encodings and output decoding against an
// implementation rather than heart's reading of the spec, and the fallback to
// JSON tensors that MLServer (no binary tensor extension) needs.
import { BRIGHTEST_MODEL, startMlServer } from '@heart/vision/testing'
import t, { type Test } from 'tap'
import { OpenInferenceProtocol } from '../src/oip.js'
import type { OipLog, OipOptions } from '../src/oip.js'
import type { TensorSpec } from '../src/image.js'
import { drawFrame } from './frames.js'

const server = await startMlServer()
t.teardown(() => server.stop())

const SQUARE = { x: 600, y: 300, w: 200, h: 100 }

const inputs: Array<TensorSpec & { name: string }> = [
  { name: 'images', width: 640, height: 640, layout: 'NCHW', datatype: 'FP32' },
  { name: 'images', width: 320, height: 320, layout: 'NHWC', datatype: 'UINT8' },
]

function protocolFor(input: TensorSpec & { name: string }, extra: Partial<OipOptions> = {}, log?: OipLog) {
  return new OpenInferenceProtocol(
    { url: server.url, model: BRIGHTEST_MODEL, input, output: { boxes: 'boxes', scores: 'scores', labels: 'labels' }, ...extra },
    log,
  )
}

async function detect(protocol: OpenInferenceProtocol, square: typeof SQUARE | null = SQUARE, seq = 1n) {
  const req = protocol.prepare(drawFrame(1280, 720, 'yuv420p', square, seq))
  try {
    return await protocol.send(req, 20_000)
  } finally {
    protocol.recycle(req)
  }
}

/** The box comes back around the square, within the model's pixel size scaled to the frame (plus a pixel of resampling). */
function near(t: Test, got: { x: number; y: number; w: number; h: number } | undefined, want: typeof SQUARE, slack: number, what: string) {
  const ok = got !== undefined && [got.x - want.x, got.y - want.y, got.w - want.w, got.h - want.h].every((d) => Math.abs(d) <= slack)
  t.ok(ok, `${what}: ${JSON.stringify(got)} around ${JSON.stringify(want)} (±${slack} px)`)
}

for (const input of inputs) {
  // Model pixels are 1280 / width frame pixels wide; allow two of them.
  const slack = Math.ceil((2 * 1280) / input.width)
  t.test(`JSON tensors, ${input.layout} ${input.datatype} ${input.width}x${input.height}: the bright square comes back as a detection around it`, async (t) => {
    const protocol = protocolFor(input)
    t.equal(protocol.encoding, 'json')
    const detections = await detect(protocol)
    t.equal(detections.length, 1, JSON.stringify(detections))
    t.equal(detections[0]?.label, 'bright', 'a BYTES label from MLServer reads as the string')
    t.ok(Math.abs((detections[0]?.confidence ?? 0) - 0.9) < 1e-6, 'the FP32 score')
    near(t, detections[0]?.box, SQUARE, slack, 'box')
    // A second frame reuses the pooled body and must still be read from its own pixels.
    const moved = { x: 100, y: 500, w: 64, h: 64 }
    near(t, (await detect(protocol, moved, 2n))[0]?.box, moved, slack, 'moved square')
    // A frame without contrast (its letterbox padding as dark as the picture): the model returns N = 0, and heart reads no detections.
    t.same(await detect(protocolFor({ ...input, padValue: 40 }), null, 3n), [], 'a flat frame: no detections')
  })
}

t.test('MLServer has no binary tensor extension: a request with Inference-Header-Content-Length is refused', async (t) => {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'images', shape: [1, 2, 2, 3], datatype: 'UINT8', parameters: { binary_data_size: 12 } }] }))
  const tensor = Buffer.from([0, 255, 0, 255, 0, 255, 200, 201, 202, 250, 251, 252])
  const res = await fetch(`${server.url}/v2/models/${BRIGHTEST_MODEL}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, tensor]),
  })
  // If a later MLServer takes it (2xx), this test must grow a binary case instead of the fallback one.
  t.ok(res.status >= 400, `HTTP ${res.status}: ${(await res.text()).slice(0, 120)}`)
})

for (const input of inputs) {
  const slack = Math.ceil((2 * 1280) / input.width)
  t.test(`binary: true, ${input.layout} ${input.datatype}: the refused binary request is sent again as JSON, and JSON is kept`, async (t) => {
    const warnings: string[] = []
    const protocol = protocolFor(input, { binary: true }, { warn: (m) => warnings.push(m) })
    t.equal(protocol.encoding, 'binary', 'starts with the binary extension')
    const first = await detect(protocol)
    near(t, first[0]?.box, SQUARE, slack, 'the first frame is answered through the JSON retry')
    t.equal(protocol.encoding, 'json', 'and the client switched to JSON')
    t.equal(warnings.length, 1, 'said once')
    t.match(warnings[0], /refused the binary tensor extension.*JSON tensors from now on/)
    const moved = { x: 900, y: 80, w: 120, h: 160 }
    near(t, (await detect(protocol, moved, 2n))[0]?.box, moved, slack, 'the next frame goes as JSON straight away')
    t.equal(warnings.length, 1, 'no second warning')
  })
}

t.test('startMlServer says so when MLServer exits before it is ready', async (t) => {
  const before = process.env.HEART_MLSERVER
  process.env.HEART_MLSERVER = '/bin/false'
  t.teardown(() => {
    if (before === undefined) delete process.env.HEART_MLSERVER
    else process.env.HEART_MLSERVER = before
  })
  await t.rejects(startMlServer(), /MLServer exited \(1\) before it was ready/)
})
