// Open Inference Protocol v2 REST (KServe, NVIDIA Triton, Seldon MLServer):
//   POST {url}/v2/models/{model}[/versions/{v}]/infer
//   { "inputs": [{ "name", "shape", "datatype", "data": [...] }] }
// answered with { "model_name", "outputs": [{ "name", "shape", "datatype", "data" }] }
// or, on error, a non-2xx status with { "error": "..." }.
// Detection models differ in their outputs, so the decoder is configured:
// which outputs hold boxes, scores, labels and (optionally) the count.

import { VisionError, badResponse, invalidOption } from './errors.js'
import { postJson, safeUrl } from './http.js'
import { TensorWriter, toFrameBox } from './image.js'
import type { Placement, TensorSpec } from './image.js'
import type { DetectionProtocol, PreparedRequest } from './protocol.js'
import type { Detection, FrameView } from './types.js'

/** Outputs of a model that already selected its detections (NMS inside the model, TF object detection API, ...). */
export interface BoxesScoresLabelsDecoder {
  format?: 'boxes-scores-labels'
  /** Output holding boxes, shape [..., N, 4]. */
  boxes: string
  /** Output holding one score per box, shape [..., N]. */
  scores: string
  /** Output holding class ids (numbers) or names (BYTES); without it every label is "object". */
  labels?: string
  /** Output holding the number of valid boxes (TensorFlow's num_detections); without it all N are read. */
  count?: string
  /** Order of the four box numbers. Default 'xyxy'. */
  boxFormat?: 'xyxy' | 'yxyx' | 'xywh' | 'cxcywh'
  /** Boxes in 0..1 of the model input instead of its pixels. Default false. */
  normalized?: boolean
  /** Class id -> name (e.g. the COCO names). */
  labelNames?: string[]
}

/**
 * The raw head of a YOLOv8-style export: one tensor [1, 4 + C, N] (or
 * [1, N, 4 + C]; the smaller dimension is taken as the channels) holding
 * cx, cy, w, h in model pixels and one score per class for N candidates.
 * The client keeps the best class per candidate and runs per-class NMS.
 */
export interface YoloDecoder {
  format: 'yolo'
  /** The output tensor's name (often "output0"). */
  output: string
  /** YOLOv5 layout: a fifth channel holds objectness, multiplied into the class scores. Default false. */
  objectness?: boolean
  /** Overlap above which the weaker of two same-class boxes is dropped. Default 0.45. */
  iou?: number
  /** Most detections kept. Default 100. */
  maxDetections?: number
  labelNames?: string[]
}

export type OipOutputDecoder = BoxesScoresLabelsDecoder | YoloDecoder

export interface OipOptions {
  /** Base URL, e.g. http://127.0.0.1:8000 (Triton) or http://127.0.0.1:8080 (KServe, MLServer). */
  url: string
  model: string
  version?: string
  /** The model's image input: its name, size, layout and datatype. */
  input: TensorSpec & { name: string }
  /** Prefix the shape with a batch dimension of 1. Default true. */
  batch?: boolean
  output: OipOutputDecoder
  /** Detections below this score are dropped. Default 0.4. */
  minConfidence?: number
  /**
   * Send the tensor as raw little-endian bytes after the JSON header (the
   * binary tensor data extension of Triton and KServe) instead of a JSON
   * array: about half the bytes for FP32 and no number printing or parsing.
   * Not every server has it: MLServer 1.7 answers such a request with HTTP
   * 500 (or 422). When a binary request is refused, the client sends that
   * frame again as JSON, and if the server takes it, stays with JSON (and
   * says so once in the log). Default false.
   */
  binary?: boolean
}

interface OipRequest extends PreparedRequest {
  body: Buffer
  length: number
  placement: Placement
  /** The body holds the binary header and raw tensor (else a JSON document). */
  binary: boolean
}

/** Where the client says that it fell back to JSON tensors. */
export interface OipLog {
  warn(message: string, fields?: object): void
}

export class OpenInferenceProtocol implements DetectionProtocol {
  readonly name = 'oip'
  private readonly endpoint: string
  private readonly writer: TensorWriter
  private readonly header: Buffer
  private readonly footer = Buffer.from(']}]}')
  private readonly table: Uint8Array
  private readonly tableLen: Uint8Array
  private readonly entry: number
  private readonly jsonMaxBody: number
  private readonly binaryMaxBody: number = 0
  private readonly free: Buffer[] = []
  /** Binary mode: the JSON header, padded with spaces so the tensor that follows is 4-byte aligned. */
  private readonly binaryHeader: Buffer | null = null
  private readonly fp32Of: Float32Array | null = null
  /** 1 / the FP32 scale of a sample (255 when normalized), to read samples back out of a binary body. */
  private readonly fp32Inverse: number = 1
  /** False once the server refused a binary request and took the same frame as JSON. */
  private binary: boolean
  /** A refused binary request was already retried as JSON; again only after a binary request succeeds. */
  private retriedAsJson = false
  private readonly o: OipOptions
  private readonly log: OipLog | undefined

  constructor(o: OipOptions, log?: OipLog) {
    if (typeof o.url !== 'string' || !/^https?:\/\//.test(o.url)) throw invalidOption('detection.url', o.url, 'an http:// or https:// URL')
    if (typeof o.model !== 'string' || o.model === '') throw invalidOption('detection.model', o.model, 'the model name the server serves')
    if (!o.input || typeof o.input.name !== 'string') throw invalidOption('detection.input.name', o.input?.name, "the model input's name")
    if (o.output?.format === 'yolo') {
      if (typeof o.output.output !== 'string') throw invalidOption('detection.output.output', o.output.output, 'the name of the YOLO output tensor')
    } else if (!o.output || typeof o.output.boxes !== 'string' || typeof o.output.scores !== 'string') {
      throw invalidOption('detection.output', o.output, 'an object naming at least the "boxes" and "scores" outputs (or format: yolo)')
    }
    this.o = o
    this.log = log
    this.binary = o.binary === true
    const path = `v2/models/${encodeURIComponent(o.model)}${o.version ? `/versions/${encodeURIComponent(o.version)}` : ''}/infer`
    this.endpoint = new URL(path, o.url.endsWith('/') ? o.url : o.url + '/').toString()
    // The tensor is sampled as bytes (every value derives from an 8-bit pixel)
    // and printed through a 256-entry table, which is much faster than
    // JSON.stringify over a million floats.
    this.writer = new TensorWriter({ ...o.input, datatype: 'UINT8', normalize: false })
    const { width: w, height: h, layout } = o.input
    const dims = layout === 'NCHW' ? [3, h, w] : [h, w, 3]
    const shape = o.batch === false ? dims : [1, ...dims]
    this.header = Buffer.from(`{"inputs":[{"name":${JSON.stringify(o.input.name)},"shape":${JSON.stringify(shape)},"datatype":"${o.input.datatype}","data":[`)
    const fp32 = o.input.datatype === 'FP32'
    const k = fp32 && o.input.normalize !== false ? 1 / 255 : 1
    const texts = Array.from({ length: 256 }, (_, v) => (fp32 ? String(Number((v * k).toPrecision(7))) : String(v)))
    this.entry = Math.max(...texts.map((t) => t.length)) + 1
    this.table = new Uint8Array(256 * this.entry)
    this.tableLen = new Uint8Array(256)
    texts.forEach((t, v) => {
      this.table.set(Buffer.from(t + ','), v * this.entry)
      this.tableLen[v] = t.length + 1
    })
    this.jsonMaxBody = this.header.length + this.writer.data.length * this.entry + this.footer.length
    if (o.binary) {
      const n = this.writer.data.length
      const size = fp32 ? n * 4 : n
      const out = o.output
      const outputs = (out.format === 'yolo' ? [out.output] : [out.boxes, out.scores, out.labels, out.count])
        .filter((x): x is string => x !== undefined)
        .map((name) => ({ name, parameters: { binary_data: false } }))
      const json = JSON.stringify({
        inputs: [{ name: o.input.name, shape, datatype: o.input.datatype, parameters: { binary_data_size: size } }],
        outputs,
      })
      this.binaryHeader = Buffer.from(json.padEnd(Math.ceil(json.length / 4) * 4, ' '))
      this.binaryMaxBody = this.binaryHeader.length + size
      if (fp32) {
        this.fp32Of = Float32Array.from({ length: 256 }, (_, v) => v * k)
        this.fp32Inverse = 1 / k
      }
    }
  }

  /** How tensors go to the server now: 'binary' until the server refused the extension, then 'json'. */
  get encoding(): 'binary' | 'json' {
    return this.binary ? 'binary' : 'json'
  }

  prepare(frame: FrameView): OipRequest {
    const placement = this.writer.write(frame)
    const binary = this.binary
    const body = this.takeBody(binary ? this.binaryMaxBody : this.jsonMaxBody)
    const length = binary ? this.writeBinary(body, this.binaryHeader!) : this.serialize(body, this.writer.data as Uint8Array)
    return { body, length, placement, binary }
  }

  async send(req: PreparedRequest, deadlineMs: number, signal?: AbortSignal): Promise<Detection[]> {
    const r = req as OipRequest
    if (!r.binary) return this.decode(await this.post(r.body.subarray(0, r.length), false, deadlineMs, signal), r.placement)
    const started = performance.now()
    let answer: unknown
    try {
      answer = await this.post(r.body.subarray(0, r.length), true, deadlineMs, signal)
    } catch (error) {
      // Any refusal may mean "no binary extension": a server without it parses
      // the body as JSON and fails in its own way (MLServer: 500 or 422).
      if (!(error instanceof VisionError && error.code === 'DETECTION_SERVICE') || this.retriedAsJson) throw error
      this.retriedAsJson = true
      answer = await this.retryAsJson(r, error, deadlineMs - (performance.now() - started), signal)
    }
    if (this.binary) this.retriedAsJson = false
    return this.decode(answer, r.placement)
  }

  recycle(req: PreparedRequest): void {
    // Keep a couple of bodies around; each is megabytes.
    if (this.free.length < 4) this.free.push((req as OipRequest).body)
  }

  /** A pooled body at least `size` bytes long (bodies of the binary size are too small once JSON is in use). */
  private takeBody(size: number): Buffer {
    let body = this.free.pop()
    while (body !== undefined && body.length < size) body = this.free.pop()
    return body ?? Buffer.allocUnsafeSlow(size)
  }

  private post(body: Buffer, binary: boolean, deadlineMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    return postJson({
      protocol: 'Open Inference Protocol',
      url: this.endpoint,
      body,
      headers: binary
        ? { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(this.binaryHeader!.length) }
        : { 'content-type': 'application/json' },
      deadlineMs,
      signal,
    })
  }

  /** Sends the refused binary request's tensor as JSON; if the server takes it, JSON it is from now on. */
  private async retryAsJson(r: OipRequest, refusal: VisionError, deadlineMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    const json = Buffer.allocUnsafeSlow(this.jsonMaxBody)
    const answer = await this.post(json.subarray(0, this.serialize(json, this.samplesOf(r))), false, deadlineMs, signal)
    this.binary = false
    this.log?.warn(
      `${safeUrl(this.endpoint)} refused the binary tensor extension (${refusal.message}) and took the same tensor as JSON; sending JSON tensors from now on (set oip.binary: false to skip the first try)`,
      { code: 'DETECTION_SERVICE' },
    )
    return answer
  }

  /** The 8-bit samples a binary body carries, read back from after its header. */
  private samplesOf(r: OipRequest): Uint8Array {
    const at = this.binaryHeader!.length
    const n = this.writer.data.length
    if (this.fp32Of === null) return r.body.subarray(at, at + n)
    const f32 = new Float32Array(r.body.buffer, r.body.byteOffset + at, n)
    const samples = new Uint8Array(n)
    for (let i = 0; i < n; i++) samples[i] = Math.round(f32[i]! * this.fp32Inverse)
    return samples
  }

  /** JSON header, then the tensor as little-endian bytes (every platform Node runs heart on is little-endian). */
  private writeBinary(out: Buffer, header: Buffer): number {
    const at = header.copy(out, 0)
    const data = this.writer.data as Uint8Array
    if (this.fp32Of === null) {
      out.set(data, at)
      return at + data.length
    }
    const lut = this.fp32Of
    // allocUnsafeSlow buffers start at offset 0 of their own memory and the header is padded to 4.
    const f32 = new Float32Array(out.buffer, out.byteOffset + at, data.length)
    for (let i = 0; i < data.length; i++) f32[i] = lut[data[i]!]!
    return at + data.length * 4
  }

  private serialize(out: Buffer, data: Uint8Array): number {
    let o = this.header.copy(out, 0)
    const table = this.table
    const lens = this.tableLen
    const entry = this.entry
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!
      const s = v * entry
      const n = lens[v]!
      for (let j = 0; j < n; j++) out[o++] = table[s + j]!
    }
    o-- // the last comma
    o += this.footer.copy(out, o)
    return o
  }

  private decode(answer: unknown, placement: Placement): Detection[] {
    const P = 'Open Inference Protocol'
    const outputs = (answer as { outputs?: unknown })?.outputs
    if (!Array.isArray(outputs)) throw badResponse(P, 200, 'no "outputs" array in the answer')
    const find = (name: string | undefined, required: boolean): { data: unknown[]; shape: unknown } | undefined => {
      if (name === undefined) return undefined
      const t = outputs.find((x: { name?: unknown }) => x?.name === name) as { data?: unknown; shape?: unknown } | undefined
      if (!t || !Array.isArray(t.data)) {
        if (!required) return undefined
        const names = outputs.map((x: { name?: unknown }) => x?.name).join(', ')
        throw badResponse(P, 200, `output "${name}" is missing or has no data (outputs: ${names}); check detection.output`)
      }
      return { data: (t.data as unknown[]).flat(Infinity), shape: t.shape }
    }
    const d = this.o.output
    if (d.format === 'yolo') return this.decodeYolo(find(d.output, true)!, d, placement)
    const boxes = find(d.boxes, true)!.data
    const scores = find(d.scores, true)!.data
    const labels = find(d.labels, true)?.data
    const countData = find(d.count, true)?.data
    const n = Math.min(scores.length, Math.floor(boxes.length / 4), countData ? Number(countData[0]) : Infinity)
    const min = this.o.minConfidence ?? 0.4
    const sx = d.normalized ? this.o.input.width : 1
    const sy = d.normalized ? this.o.input.height : 1
    const out: Detection[] = []
    for (let i = 0; i < n; i++) {
      const score = Number(scores[i])
      if (!(score >= min)) continue
      const a = Number(boxes[4 * i])
      const b = Number(boxes[4 * i + 1])
      const c = Number(boxes[4 * i + 2])
      const e = Number(boxes[4 * i + 3])
      let x1: number, y1: number, x2: number, y2: number
      switch (d.boxFormat ?? 'xyxy') {
        case 'yxyx':
          ;[y1, x1, y2, x2] = [a, b, c, e]
          break
        case 'xywh':
          ;[x1, y1, x2, y2] = [a, b, a + c, b + e]
          break
        case 'cxcywh':
          ;[x1, y1, x2, y2] = [a - c / 2, b - e / 2, a + c / 2, b + e / 2]
          break
        default:
          ;[x1, y1, x2, y2] = [a, b, c, e]
      }
      if (![x1, y1, x2, y2].every(Number.isFinite)) throw badResponse(P, 200, `box ${i} is not four numbers`)
      const raw = labels?.[i]
      const label = typeof raw === 'string' ? raw : raw === undefined ? 'object' : (d.labelNames?.[Number(raw)] ?? String(raw))
      out.push({ label, confidence: score, box: toFrameBox(x1 * sx, y1 * sy, x2 * sx, y2 * sy, placement) })
    }
    return out
  }

  private decodeYolo(t: { data: unknown[]; shape: unknown }, d: YoloDecoder, placement: Placement): Detection[] {
    const P = 'Open Inference Protocol'
    const shape = Array.isArray(t.shape) ? (t.shape as number[]).filter((x) => x !== 1) : []
    if (shape.length !== 2) throw badResponse(P, 200, `YOLO output "${d.output}" has shape ${JSON.stringify(t.shape)}; expected [1, 4 + classes, candidates]`)
    const data = t.data as number[]
    // Channels (4 + classes, maybe + objectness) are far fewer than candidates.
    const channelsFirst = shape[0]! <= shape[1]!
    const channels = channelsFirst ? shape[0]! : shape[1]!
    const n = channelsFirst ? shape[1]! : shape[0]!
    const first = d.objectness ? 5 : 4
    if (channels <= first || data.length < channels * n) throw badResponse(P, 200, `YOLO output "${d.output}" is too small for ${channels} channels x ${n} candidates`)
    const at = channelsFirst ? (c: number, i: number) => Number(data[c * n + i]) : (c: number, i: number) => Number(data[i * channels + c])
    const min = this.o.minConfidence ?? 0.4
    const cand: { score: number; cls: number; x1: number; y1: number; x2: number; y2: number }[] = []
    for (let i = 0; i < n; i++) {
      const obj = d.objectness ? at(4, i) : 1
      let best = -1
      let cls = 0
      for (let c = first; c < channels; c++) {
        const v = at(c, i)
        if (v > best) {
          best = v
          cls = c - first
        }
      }
      const score = best * obj
      if (!(score >= min)) continue
      const cx = at(0, i)
      const cy = at(1, i)
      const w = at(2, i)
      const h = at(3, i)
      cand.push({ score, cls, x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 })
    }
    cand.sort((a, b) => b.score - a.score)
    const iou = d.iou ?? 0.45
    const max = d.maxDetections ?? 100
    const kept: typeof cand = []
    for (const c of cand) {
      if (kept.length >= max) break
      if (kept.some((k) => k.cls === c.cls && overlap(k, c) > iou)) continue
      kept.push(c)
    }
    return kept.map((k) => ({
      label: d.labelNames?.[k.cls] ?? String(k.cls),
      confidence: k.score,
      box: toFrameBox(k.x1, k.y1, k.x2, k.y2, placement),
    }))
  }
}

/** Intersection over union of two boxes given as corners. */
function overlap(a: { x1: number; y1: number; x2: number; y2: number }, b: { x1: number; y1: number; x2: number; y2: number }): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1)
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1)
  if (iw <= 0 || ih <= 0) return 0
  const inter = iw * ih
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter)
}
