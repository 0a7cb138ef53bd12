// Detection services for the tests, written from the protocol descriptions
// (not with the client's code): a DeepStack / CodeProject.AI server that
// parses multipart bodies itself, and an Open Inference Protocol v2 server
// that validates the tensor. Their "model" finds the bright square the tests
// draw, so answers depend on the pixels that were really sent.

import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TestServer {
  url: string
  requests: RecordedRequest[]
  /** Changes how the next requests are answered. */
  mode: Mode
  close(): Promise<void>
}

export interface RecordedRequest {
  path: string
  contentType: string
  authorization?: string
  imageType?: string
  imageWidth?: number
  imageHeight?: number
  minConfidence?: string
  shape?: number[]
  datatype?: string
  binary?: boolean
}

export type Mode =
  | { kind: 'ok'; delayMs?: number }
  | { kind: 'status'; status: number; contentType: string; body: string }
  | { kind: 'hang' }

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

async function listen(server: Server, state: { mode: Mode; requests: RecordedRequest[] }): Promise<TestServer> {
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests: state.requests,
    get mode() {
      return state.mode
    },
    set mode(m: Mode) {
      state.mode = m
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Applies a non-"ok" mode; returns true when the response was handled. */
async function misbehave(mode: Mode, res: ServerResponse): Promise<boolean> {
  if (mode.kind === 'hang') return true // never answers; the client's deadline must end it
  if (mode.kind === 'status') {
    res.writeHead(mode.status, { 'content-type': mode.contentType })
    res.end(mode.body)
    return true
  }
  if (mode.delayMs) await new Promise((r) => setTimeout(r, mode.delayMs))
  return false
}

// --- multipart/form-data -------------------------------------------------------

export interface Part {
  name: string
  filename?: string
  contentType?: string
  data: Buffer
}

export function parseMultipart(body: Buffer, contentType: string): Part[] {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType)
  if (!m) throw new Error('multipart body without a boundary')
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`)
  const parts: Part[] = []
  let pos = body.indexOf(delimiter)
  if (pos < 0) throw new Error('boundary not found in body')
  for (;;) {
    pos += delimiter.length
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break // closing delimiter "--"
    pos += 2 // CRLF after the delimiter
    const headerEnd = body.indexOf('\r\n\r\n', pos)
    if (headerEnd < 0) throw new Error('part without a header end')
    const headers = body.subarray(pos, headerEnd).toString('latin1').split('\r\n')
    const next = body.indexOf(delimiter, headerEnd + 4)
    if (next < 0) throw new Error('unterminated part')
    const data = body.subarray(headerEnd + 4, next - 2) // drop the CRLF before the delimiter
    const part: Part = { name: '', data }
    for (const h of headers) {
      const [key, ...rest] = h.split(':')
      const value = rest.join(':').trim()
      if (key!.toLowerCase() === 'content-disposition') {
        part.name = /\bname="([^"]*)"/.exec(value)?.[1] ?? ''
        part.filename = /\bfilename="([^"]*)"/.exec(value)?.[1]
      } else if (key!.toLowerCase() === 'content-type') part.contentType = value
    }
    parts.push(part)
    pos = next
  }
  return parts
}

// --- images ------------------------------------------------------------------------

export function jpegSize(data: Buffer): { width: number; height: number } {
  if (data[0] !== 0xff || data[1] !== 0xd8) throw new Error('not a JPEG (no SOI marker)')
  let p = 2
  while (p < data.length) {
    if (data[p] !== 0xff) throw new Error('bad JPEG marker')
    const marker = data[p + 1]!
    const len = data.readUInt16BE(p + 2)
    if (marker >= 0xc0 && marker <= 0xc3) return { height: data.readUInt16BE(p + 5), width: data.readUInt16BE(p + 7) }
    p += 2 + len
  }
  throw new Error('JPEG without a frame header')
}

/** Decodes a 24-bit BMP to gray (average of channels). */
export function decodeBmp(data: Buffer): { width: number; height: number; gray: Uint8Array } {
  if (data.toString('latin1', 0, 2) !== 'BM') throw new Error('not a BMP')
  const off = data.readUInt32LE(10)
  const width = data.readInt32LE(18)
  const rawH = data.readInt32LE(22)
  if (data.readUInt16LE(28) !== 24) throw new Error('only 24-bit BMP')
  const height = Math.abs(rawH)
  const rowBytes = (width * 3 + 3) & ~3
  const gray = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) {
    const srcRow = off + (rawH < 0 ? y : height - 1 - y) * rowBytes
    for (let x = 0; x < width; x++) {
      const i = srcRow + x * 3
      gray[y * width + x] = Math.round((data[i]! + data[i + 1]! + data[i + 2]!) / 3)
    }
  }
  return { width, height, gray }
}

/** The "model": the bounding box [x1, y1, x2, y2) of pixels brighter than 200, or null. */
export function brightBox(gray: ArrayLike<number>, width: number, height: number, stride = 1, offset = 0): [number, number, number, number] | null {
  let x1 = Infinity
  let y1 = Infinity
  let x2 = -1
  let y2 = -1
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (gray[offset + (y * width + x) * stride]! > 200) {
        if (x < x1) x1 = x
        if (y < y1) y1 = y
        if (x > x2) x2 = x
        if (y > y2) y2 = y
      }
    }
  }
  return x2 < 0 ? null : [x1, y1, x2 + 1, y2 + 1]
}

// --- DeepStack / CodeProject.AI ------------------------------------------------------

export async function startDeepStackServer(): Promise<TestServer> {
  const state = { mode: { kind: 'ok' } as Mode, requests: [] as RecordedRequest[] }
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const contentType = req.headers['content-type'] ?? ''
    const rec: RecordedRequest = { path, contentType, authorization: req.headers.authorization }
    state.requests.push(rec)
    if (req.method !== 'POST' || path !== '/v1/vision/detection') {
      return json(res, 404, { success: false, error: `no route ${req.method} ${path}` })
    }
    if (!contentType.startsWith('multipart/form-data')) return json(res, 400, { success: false, error: 'expected multipart/form-data' })
    let parts: Part[]
    try {
      parts = parseMultipart(body, contentType)
    } catch (e) {
      return json(res, 400, { success: false, error: `bad multipart body: ${(e as Error).message}` })
    }
    const image = parts.find((p) => p.name === 'image')
    rec.minConfidence = parts.find((p) => p.name === 'min_confidence')?.data.toString()
    if (!image || image.data.length === 0) return json(res, 400, { success: false, error: 'no image field' })
    rec.imageType = image.contentType
    if (await misbehave(state.mode, res)) return
    const predictions = []
    try {
      if (image.contentType === 'image/jpeg') {
        // JPEG is not decoded here: answer one fixed box at a quarter of the picture.
        const { width, height } = jpegSize(image.data)
        rec.imageWidth = width
        rec.imageHeight = height
        predictions.push({ label: 'person', confidence: 0.9, x_min: width / 4, y_min: height / 4, x_max: width / 2, y_max: height / 2 })
      } else {
        const { width, height, gray } = decodeBmp(image.data)
        rec.imageWidth = width
        rec.imageHeight = height
        const b = brightBox(gray, width, height)
        if (b) predictions.push({ label: 'square', confidence: 0.87, x_min: b[0], y_min: b[1], x_max: b[2], y_max: b[3] })
      }
    } catch (e) {
      // DeepStack answers a picture it cannot read with success: false.
      return json(res, 200, { success: false, error: `invalid image: ${(e as Error).message}` })
    }
    json(res, 200, { success: true, predictions, duration: 1 })
  })
  return listen(server, state)
}

// --- Open Inference Protocol v2 ------------------------------------------------------

export interface OipModel {
  name: string
  input: { name: string; datatype: 'UINT8' | 'FP32'; shape: number[]; layout: 'NCHW' | 'NHWC' }
  /** How the answer is shaped: plain xyxy pixel boxes with class ids, or TF style normalized yxyx with a count and names. */
  outputs: 'xyxy-ids' | 'tf-normalized' | 'yolo' | 'yolo-transposed'
}

/**
 * A raw YOLOv8-style head: 20 candidates x (cx, cy, w, h, 3 class scores).
 * Around the found box: the best candidate (class 2, 0.9), a near duplicate
 * that NMS must drop (class 2, 0.8), the same box as another class (0, 0.6),
 * and a weak far one (class 1, 0.3).
 */
function yoloHead(found: number[][], transposed: boolean): { name: string; datatype: string; shape: number[]; data: number[] } {
  const n = 20
  const ch = 7
  const m = Array.from({ length: ch }, () => new Array<number>(n).fill(0))
  const put = (i: number, box: number[], cls: number, score: number): void => {
    const [x1, y1, x2, y2] = box as [number, number, number, number]
    m[0]![i] = (x1 + x2) / 2
    m[1]![i] = (y1 + y2) / 2
    m[2]![i] = x2 - x1
    m[3]![i] = y2 - y1
    m[4 + cls]![i] = score
  }
  for (const b of found) {
    put(5, b, 2, 0.9)
    put(6, [b[0]! + 2, b[1]! + 2, b[2]! + 2, b[3]! + 2], 2, 0.8)
    put(7, b, 0, 0.6)
    put(8, [0, 0, 10, 10], 1, 0.3)
  }
  if (!transposed) return { name: 'output0', datatype: 'FP32', shape: [1, ch, n], data: m.flat() }
  const t: number[] = []
  for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++) t.push(m[c]![i]!)
  return { name: 'output0', datatype: 'FP32', shape: [1, n, ch], data: t }
}

export async function startOipServer(model: OipModel): Promise<TestServer> {
  const state = { mode: { kind: 'ok' } as Mode, requests: [] as RecordedRequest[] }
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const contentType = req.headers['content-type'] ?? ''
    const rec: RecordedRequest = { path, contentType }
    state.requests.push(rec)
    if (req.method === 'GET' && path === '/v2/health/ready') return json(res, 200, { ready: true })
    const m = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?\/infer$/.exec(path)
    if (req.method !== 'POST' || !m) return json(res, 404, { error: `no route ${req.method} ${path}` })
    if (decodeURIComponent(m[1]!) !== model.name) return json(res, 404, { error: `Request for unknown model: '${m[1]}' is not found` })
    // Binary tensor data extension: a JSON header of the given length, then raw tensors in input order.
    const headerLength = req.headers['inference-header-content-length']
    rec.binary = headerLength !== undefined
    if (!rec.binary && !contentType.startsWith('application/json')) return json(res, 400, { error: `unsupported content type ${contentType}` })
    type Input = { name?: string; shape?: number[]; datatype?: string; data?: unknown[]; parameters?: { binary_data_size?: number } }
    let request: { inputs?: Input[] }
    const jsonEnd = rec.binary ? Number(headerLength) : body.length
    if (!(jsonEnd >= 0 && jsonEnd <= body.length)) return json(res, 400, { error: 'Inference-Header-Content-Length exceeds the body' })
    try {
      request = JSON.parse(body.subarray(0, jsonEnd).toString('utf8'))
    } catch {
      return json(res, 400, { error: 'failed to parse the request JSON' })
    }
    let at = jsonEnd
    for (const i of request.inputs ?? []) {
      const size = i.parameters?.binary_data_size
      if (size === undefined) continue
      if (at + size > body.length) return json(res, 400, { error: `input ${i.name}: binary_data_size ${size} beyond the body` })
      const raw = body.subarray(at, at + size)
      at += size
      if (i.datatype === 'FP32') {
        if (size % 4 !== 0) return json(res, 400, { error: 'FP32 binary data is not a multiple of 4 bytes' })
        i.data = Array.from({ length: size / 4 }, (_, k) => raw.readFloatLE(k * 4))
      } else i.data = Array.from(raw)
    }
    const input = request.inputs?.find((i) => i.name === model.input.name)
    if (!input) return json(res, 400, { error: `expected input "${model.input.name}"` })
    rec.shape = input.shape
    rec.datatype = input.datatype
    if (input.datatype !== model.input.datatype) return json(res, 400, { error: `input datatype ${input.datatype}, expected ${model.input.datatype}` })
    if (JSON.stringify(input.shape) !== JSON.stringify(model.input.shape)) {
      return json(res, 400, { error: `input shape ${JSON.stringify(input.shape)}, expected ${JSON.stringify(model.input.shape)}` })
    }
    const data = (input.data ?? []).flat(Infinity) as number[]
    const expected = model.input.shape.reduce((a, b) => a * b, 1)
    if (data.length !== expected) return json(res, 400, { error: `input has ${data.length} values, shape needs ${expected}` })
    if (await misbehave(state.mode, res)) return
    // The "model": bright pixels in the red channel.
    const nchw = model.input.layout === 'NCHW'
    const [h, w] = nchw ? model.input.shape.slice(-2) : model.input.shape.slice(-3, -1)
    const k = model.input.datatype === 'FP32' ? 255 : 1
    const red = new Uint8Array(w! * h!)
    for (let i = 0; i < red.length; i++) red[i] = Math.round(data[nchw ? i : i * 3]! * k)
    const b = brightBox(red, w!, h!)
    const found = b ? [b] : []
    const outputs = model.outputs.startsWith('yolo')
      ? [yoloHead(found, model.outputs === 'yolo-transposed')]
      : model.outputs === 'xyxy-ids'
        ? [
            { name: 'boxes', datatype: 'FP32', shape: [1, found.length, 4], data: found.flat() },
            { name: 'scores', datatype: 'FP32', shape: [1, found.length], data: found.map(() => 0.91) },
            { name: 'labels', datatype: 'INT64', shape: [1, found.length], data: found.map(() => 2) },
          ]
        : [
            // TensorFlow object detection API style: fixed 4 slots, a count, normalized [ymin, xmin, ymax, xmax].
            {
              name: 'detection_boxes',
              datatype: 'FP32',
              shape: [1, 4, 4],
              data: [...found.map(([x1, y1, x2, y2]) => [[y1 / h!, x1 / w!, y2 / h!, x2 / w!]]), ...Array(4 - found.length).fill([[0, 0, 0, 0]])],
            },
            { name: 'detection_scores', datatype: 'FP32', shape: [1, 4], data: [...found.map(() => 0.8), 0.9, 0, 0].slice(0, 4) },
            { name: 'detection_names', datatype: 'BYTES', shape: [1, 4], data: ['car', 'ghost', '', ''] },
            { name: 'num_detections', datatype: 'FP32', shape: [1], data: [found.length] },
          ]
    json(res, 200, { model_name: model.name, model_version: '1', outputs })
  })
  return listen(server, state)
}
