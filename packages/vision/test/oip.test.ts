import t from 'tap'
import { DetectionClient } from '../src/detection-client.js'
import type { DetectionResult } from '../src/detection-client.js'
import type { VisionError } from '../src/errors.js'
import { OpenInferenceProtocol } from '../src/oip.js'
import type { OipOptions } from '../src/oip.js'
import { drawFrame } from './frames.js'
import { startOipServer } from './servers.js'

async function detectOnce(protocol: OpenInferenceProtocol, frame = drawFrame(1280, 720, 'yuv420p', { x: 600, y: 300, w: 200, h: 100 }, 9n), deadlineMs = 5000) {
  let done: (v: { result?: DetectionResult; error?: VisionError }) => void = () => {}
  const settled = new Promise<{ result?: DetectionResult; error?: VisionError }>((r) => (done = r))
  const client = new DetectionClient({ protocol, fps: 0, deadlineMs, onResult: (result) => done({ result }), onError: (error) => done({ error }) })
  await client.submit(frame)
  const out = await settled
  await client.close()
  return out
}

const nchwFp32 = {
  name: 'images',
  width: 640,
  height: 640,
  layout: 'NCHW',
  datatype: 'FP32',
} as const

t.test('NCHW FP32 letterboxed input, xyxy pixel boxes with class ids', async (t) => {
  const server = await startOipServer({
    name: 'yolo',
    input: { name: 'images', datatype: 'FP32', shape: [1, 3, 640, 640], layout: 'NCHW' },
    outputs: 'xyxy-ids',
  })
  t.teardown(() => server.close())
  const protocol = new OpenInferenceProtocol({
    url: server.url,
    model: 'yolo',
    input: nchwFp32,
    output: { boxes: 'boxes', scores: 'scores', labels: 'labels', labelNames: ['person', 'bicycle', 'car'] },
  })
  const { result, error } = await detectOnce(protocol)
  t.equal(error, undefined, error?.message ?? 'no error')
  const req = server.requests[0]!
  t.equal(req.path, '/v2/models/yolo/infer')
  t.match(req.contentType, /^application\/json/)
  t.same(req.shape, [1, 3, 640, 640])
  t.equal(req.datatype, 'FP32')
  t.equal(result?.seq, 9n)
  t.equal(result?.detections.length, 1)
  const d = result!.detections[0]!
  t.equal(d.label, 'car', 'class id 2 named through labelNames')
  t.equal(d.confidence, 0.91)
  // 1280x720 -> 640x360 content, padded 140 rows top: half scale, so ±2 px.
  t.ok(Math.abs(d.box.x - 600) <= 2 && Math.abs(d.box.y - 300) <= 2, JSON.stringify(d.box))
  t.ok(Math.abs(d.box.w - 200) <= 3 && Math.abs(d.box.h - 100) <= 3, JSON.stringify(d.box))

  // A second request reuses the recycled body buffer and still gets it right.
  const again = await detectOnce(protocol, drawFrame(1280, 720, 'nv12', { x: 100, y: 500, w: 64, h: 64 }, 10n))
  t.ok(again.result && Math.abs(again.result.detections[0]!.box.x - 100) <= 2 && Math.abs(again.result.detections[0]!.box.y - 500) <= 2, JSON.stringify(again.result?.detections))
})

t.test('the binary tensor extension (Triton, KServe): FP32 and UINT8 tensors after a JSON header', async (t) => {
  for (const datatype of ['FP32', 'UINT8'] as const) {
    const server = await startOipServer({
      name: 'yolo',
      input: { name: 'images', datatype, shape: [1, 3, 640, 640], layout: 'NCHW' },
      outputs: 'xyxy-ids',
    })
    t.teardown(() => server.close())
    const protocol = new OpenInferenceProtocol({
      url: server.url,
      model: 'yolo',
      input: { ...nchwFp32, datatype },
      output: { boxes: 'boxes', scores: 'scores', labels: 'labels' },
      binary: true,
    })
    const { result, error } = await detectOnce(protocol)
    t.equal(error, undefined, error?.message ?? 'no error')
    const req = server.requests[0]!
    t.equal(req.binary, true, `${datatype}: sent with Inference-Header-Content-Length`)
    t.equal(req.contentType, 'application/octet-stream')
    const d = result!.detections[0]!
    t.equal(d.label, '2', 'no labelNames: the class id as text')
    t.ok(Math.abs(d.box.x - 600) <= 2 && Math.abs(d.box.y - 300) <= 2 && Math.abs(d.box.w - 200) <= 3, JSON.stringify(d.box))
  }
})

t.test('NHWC UINT8 input, TensorFlow-style outputs: normalized yxyx boxes, names, and a count', async (t) => {
  const server = await startOipServer({
    name: 'ssd mobilenet',
    input: { name: 'input_tensor', datatype: 'UINT8', shape: [1, 320, 320, 3], layout: 'NHWC' },
    outputs: 'tf-normalized',
  })
  t.teardown(() => server.close())
  const protocol = new OpenInferenceProtocol({
    url: server.url,
    model: 'ssd mobilenet',
    version: '1',
    input: { name: 'input_tensor', width: 320, height: 320, layout: 'NHWC', datatype: 'UINT8', letterbox: false },
    output: { boxes: 'detection_boxes', scores: 'detection_scores', labels: 'detection_names', count: 'num_detections', boxFormat: 'yxyx', normalized: true },
    minConfidence: 0.5,
  })
  const { result, error } = await detectOnce(protocol, drawFrame(640, 480, 'rgb24', { x: 320, y: 240, w: 160, h: 120 }))
  t.equal(error, undefined, error?.message ?? 'no error')
  t.equal(server.requests[0]!.path, '/v2/models/ssd%20mobilenet/versions/1/infer')
  t.same(server.requests[0]!.shape, [1, 320, 320, 3])
  t.equal(result?.detections.length, 1, 'the 0.9 "ghost" beyond num_detections is ignored')
  const d = result!.detections[0]!
  t.equal(d.label, 'car')
  // Stretched (no letterbox): x scale 0.5, y scale 2/3.
  t.ok(Math.abs(d.box.x - 320) <= 2 && Math.abs(d.box.y - 240) <= 2, JSON.stringify(d.box))
  t.ok(Math.abs(d.box.w - 160) <= 4 && Math.abs(d.box.h - 120) <= 4, JSON.stringify(d.box))
})

t.test('a raw YOLO head: best class per candidate, per-class NMS, either tensor orientation', async (t) => {
  for (const outputs of ['yolo', 'yolo-transposed'] as const) {
    const server = await startOipServer({ name: 'yolov8n', input: { name: 'images', datatype: 'UINT8', shape: [1, 3, 64, 64], layout: 'NCHW' }, outputs })
    t.teardown(() => server.close())
    const protocol = new OpenInferenceProtocol({
      url: server.url,
      model: 'yolov8n',
      input: { name: 'images', width: 64, height: 64, layout: 'NCHW', datatype: 'UINT8' },
      output: { format: 'yolo', output: 'output0', labelNames: ['person', 'bicycle', 'car'] },
    })
    const { result, error } = await detectOnce(protocol, drawFrame(128, 128, 'gray', { x: 32, y: 64, w: 32, h: 32 }))
    t.equal(error, undefined, error?.message ?? 'no error')
    const got = result!.detections.map((d) => `${d.label}@${d.confidence}:${d.box.x},${d.box.y},${d.box.w},${d.box.h}`)
    t.same(got, ['car@0.9:32,64,32,32', 'person@0.6:32,64,32,32'], `${outputs}: duplicate suppressed, other class kept, weak dropped`)
  }
})

t.test('errors: unknown model (404), rejected input (400), missing outputs, slow, refused', async (t) => {
  const server = await startOipServer({
    name: 'yolo',
    input: { name: 'images', datatype: 'FP32', shape: [1, 3, 64, 64], layout: 'NCHW' },
    outputs: 'xyxy-ids',
  })
  t.teardown(() => server.close())
  // A small model input keeps these many round trips quick.
  const small64 = { ...nchwFp32, width: 64, height: 64 }
  const base: OipOptions = { url: server.url, model: 'yolo', input: small64, output: { boxes: 'boxes', scores: 'scores' } }
  const small = drawFrame(320, 240, 'gray', { x: 10, y: 10, w: 30, h: 30 })

  let r = await detectOnce(new OpenInferenceProtocol({ ...base, model: 'nope' }), small)
  t.match(r.error, { code: 'DETECTION_SERVICE', message: /HTTP 404.*unknown model/ })

  r = await detectOnce(new OpenInferenceProtocol({ ...base, input: { ...small64, name: 'input0' } }), small)
  t.match(r.error, { code: 'DETECTION_SERVICE', message: /HTTP 400.*expected input "images"/ })

  r = await detectOnce(new OpenInferenceProtocol({ ...base, input: { ...small64, datatype: 'UINT8' } }), small)
  t.match(r.error, { code: 'DETECTION_SERVICE', message: /HTTP 400.*datatype UINT8/ })

  r = await detectOnce(new OpenInferenceProtocol({ ...base, input: { ...small64, layout: 'NHWC' } }), small)
  t.match(r.error, { code: 'DETECTION_SERVICE', message: /HTTP 400.*shape \[1,64,64,3\]/ })

  r = await detectOnce(new OpenInferenceProtocol({ ...base, output: { boxes: 'detection_boxes', scores: 'scores' } }), small)
  t.match(r.error, { code: 'DETECTION_BAD_RESPONSE', message: /"detection_boxes" is missing.*boxes, scores, labels/ })

  server.mode = { kind: 'status', status: 500, contentType: 'application/json', body: '{"error":"CUDA out of memory"}' }
  r = await detectOnce(new OpenInferenceProtocol(base), small)
  t.match(r.error, { code: 'DETECTION_SERVICE', message: /HTTP 500.*CUDA out of memory/ })

  server.mode = { kind: 'status', status: 200, contentType: 'application/json', body: '{"model_name":"yolo"}' }
  r = await detectOnce(new OpenInferenceProtocol(base), small)
  t.match(r.error, { code: 'DETECTION_BAD_RESPONSE', message: /outputs/ })

  server.mode = { kind: 'hang' }
  r = await detectOnce(new OpenInferenceProtocol(base), small, 400)
  t.match(r.error, { code: 'DETECTION_TIMEOUT' })

  // A port nothing listens on (a fresh one: pooled keep-alive sockets to
  // the old server would fail with EPIPE/ECONNRESET instead, also "unreachable").
  const gone = await startOipServer({ name: 'x', input: { name: 'i', datatype: 'UINT8', shape: [1], layout: 'NHWC' }, outputs: 'xyxy-ids' })
  await gone.close()
  r = await detectOnce(new OpenInferenceProtocol({ ...base, url: gone.url }), small)
  t.match(r.error, { code: 'DETECTION_UNREACHABLE', message: /ECONNREFUSED/ })
})

t.test('bad configuration fails at construction with a clear error', async (t) => {
  const ok: OipOptions = { url: 'http://127.0.0.1:1', model: 'm', input: nchwFp32, output: { boxes: 'b', scores: 's' } }
  t.throws(() => new OpenInferenceProtocol({ ...ok, url: 'localhost:8000' }), /http:\/\//)
  t.throws(() => new OpenInferenceProtocol({ ...ok, model: '' }), /model/)
  t.throws(() => new OpenInferenceProtocol({ ...ok, output: { boxes: 'b' } as never }), /"boxes" and "scores"/)
  t.throws(() => new OpenInferenceProtocol({ ...ok, output: { format: 'yolo' } as never }), /YOLO output tensor/)
  t.throws(() => new OpenInferenceProtocol({ ...ok, input: { ...nchwFp32, layout: 'CHW' as never } }), /layout/)
  t.throws(() => new OpenInferenceProtocol({ ...ok, input: { ...nchwFp32, width: 0 } }), /width/)
})

t.test('binary: a refusal is retried as JSON once per streak, kept binary when JSON fails too, and a timeout is not retried', async (t) => {
  const server = await startOipServer({
    name: 'yolo',
    input: { name: 'images', datatype: 'UINT8', shape: [1, 3, 640, 640], layout: 'NCHW' },
    outputs: 'xyxy-ids',
  })
  t.teardown(() => server.close())
  const warnings: string[] = []
  const protocol = new OpenInferenceProtocol(
    { url: server.url, model: 'yolo', input: { ...nchwFp32, datatype: 'UINT8' }, output: { boxes: 'boxes', scores: 'scores', labels: 'labels' }, binary: true },
    { warn: (m) => warnings.push(m) },
  )
  const frame = (seq: bigint) => drawFrame(1280, 720, 'yuv420p', { x: 600, y: 300, w: 200, h: 100 }, seq)
  const send = async (seq: bigint, deadlineMs = 5000) => {
    const req = protocol.prepare(frame(seq))
    try {
      return await protocol.send(req, deadlineMs)
    } finally {
      protocol.recycle(req)
    }
  }
  const refused = async (what: string, requests: number) => {
    const before = server.requests.length
    const error = (await send(1n).catch((e: unknown) => e)) as VisionError
    t.equal(error?.code, 'DETECTION_SERVICE', `${what}: the refusal is reported`)
    t.equal(server.requests.length - before, requests, `${what}: ${requests} request(s)`)
    return server.requests.slice(before)
  }

  server.mode = { kind: 'status', status: 500, contentType: 'application/json', body: '{"error":"model crashed"}' }
  const [binary, json] = await refused('first refusal', 2)
  t.ok(binary?.binary === true && json?.binary === false && /json/.test(json.contentType), 'binary, then the same frame as JSON')
  t.equal(protocol.encoding, 'binary', 'JSON failed as well: the refusal was not about the extension, binary stays')
  await refused('the same streak', 1)
  t.equal(warnings.length, 0, 'nothing to say yet')

  server.mode = { kind: 'ok' }
  t.equal((await send(2n)).length, 1, 'a binary request succeeds')
  server.mode = { kind: 'status', status: 500, contentType: 'application/json', body: '{"error":"model crashed"}' }
  await refused('a new streak after a success', 2)

  server.mode = { kind: 'hang' }
  const before = server.requests.length
  const timeout = (await send(3n, 200).catch((e: unknown) => e)) as VisionError
  t.equal(timeout.code, 'DETECTION_TIMEOUT', 'a timeout is not a refusal')
  t.equal(server.requests.length - before, 1, 'and is not retried as JSON')
  t.equal(protocol.encoding, 'binary')
})
