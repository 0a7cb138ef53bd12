// DeepStack / CodeProject.AI object detection:
//   POST {url}/v1/vision/detection, multipart/form-data with the picture in
//   the field "image" (and optionally "min_confidence"); the answer is
//   { success: true, predictions: [{ label, confidence, x_min, y_min, x_max, y_max }] }
//   in the picture's pixels, or { success: false, error } on failure.

import { badResponse, invalidOption, serviceError } from './errors.js'
import { postJson } from './http.js'
import { BmpEncoder, placementFor, toFrameBox } from './image.js'
import type { Placement } from './image.js'
import type { DetectionProtocol, EncodedImage, ImageEncoder, PreparedRequest } from './protocol.js'
import type { Detection, FrameView } from './types.js'

export interface DeepStackOptions {
  /** Base URL of the service, e.g. http://127.0.0.1:32168 (CodeProject.AI) or http://127.0.0.1:5000 (DeepStack). */
  url: string
  /** Default '/v1/vision/detection'; CodeProject.AI custom models live under '/v1/vision/custom/<model>'. */
  path?: string
  /** Sent as min_confidence so the service filters too. Default 0.4. */
  minConfidence?: number
  /** Width the picture is scaled to before sending. Default 640. */
  maxWidth?: number
  /**
   * Encodes the frame (scaled to maxWidth) as JPEG, e.g. the native encoder.
   * Without one the picture is sent as BMP, which needs no codec.
   */
  encode?: ImageEncoder
}

interface DeepStackRequest extends PreparedRequest {
  image: EncodedImage
  placement: Placement
}

export class DeepStackProtocol implements DetectionProtocol {
  readonly name = 'deepstack'
  private readonly endpoint: string
  private readonly minConfidence: number
  private readonly maxWidth: number
  private readonly encode: ImageEncoder
  private readonly bmp = new BmpEncoder()

  constructor(o: DeepStackOptions) {
    if (typeof o.url !== 'string' || !/^https?:\/\//.test(o.url)) throw invalidOption('detection.url', o.url, 'an http:// or https:// URL')
    this.endpoint = new URL(o.path ?? '/v1/vision/detection', o.url.endsWith('/') ? o.url : o.url + '/').toString()
    this.minConfidence = o.minConfidence ?? 0.4
    this.maxWidth = o.maxWidth ?? 640
    this.encode = o.encode ?? ((frame, maxWidth) => this.encodeBmp(frame, maxWidth))
  }

  async prepare(frame: FrameView): Promise<DeepStackRequest> {
    const image = await this.encode(frame, this.maxWidth)
    // The picture may be scaled: predictions come back in its pixels.
    const placement = placementFor(frame.width, frame.height, image.width, image.height, false)
    return { image, placement }
  }

  async send(req: PreparedRequest, deadlineMs: number, signal?: AbortSignal): Promise<Detection[]> {
    const { image, placement } = req as DeepStackRequest
    const form = new FormData()
    const name = image.type === 'image/jpeg' ? 'frame.jpg' : 'frame.bmp'
    form.append('image', new Blob([image.data], { type: image.type }), name)
    form.append('min_confidence', String(this.minConfidence))
    const body = await postJson({ protocol: 'DeepStack', url: this.endpoint, body: form, deadlineMs, signal })
    return parsePredictions(body, placement)
  }

  private encodeBmp(frame: FrameView, maxWidth: number): EncodedImage {
    const { data, width, height } = this.bmp.encode(frame, maxWidth)
    // Copy out: the encoder reuses its buffer and the request may still be in flight.
    return { data: data.slice(), width, height, type: 'image/bmp' }
  }
}

function parsePredictions(body: unknown, placement: Placement): Detection[] {
  const b = body as { success?: unknown; predictions?: unknown; error?: unknown }
  if (b === null || typeof b !== 'object') throw badResponse('DeepStack', 200, 'the body is not a JSON object')
  if (b.success === false) throw serviceError('DeepStack', 200, typeof b.error === 'string' ? b.error : 'success: false')
  if (!Array.isArray(b.predictions)) throw badResponse('DeepStack', 200, 'no "predictions" array in the answer')
  const out: Detection[] = []
  for (const p of b.predictions as Record<string, unknown>[]) {
    const { label, confidence, x_min, y_min, x_max, y_max } = p ?? {}
    if (typeof label !== 'string' || ![confidence, x_min, y_min, x_max, y_max].every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw badResponse('DeepStack', 200, `a prediction lacks label/confidence/x_min/y_min/x_max/y_max: ${JSON.stringify(p).slice(0, 120)}`)
    }
    out.push({
      label,
      confidence: confidence as number,
      box: toFrameBox(x_min as number, y_min as number, x_max as number, y_max as number, placement),
    })
  }
  return out
}
