// Capture configuration (the `camera:` section): its schema, defaults and
// resolution. The schema is part of heart's one config schema, so a typo
// here (`pixfmt`, `decodr`, `expect.maxsize`) is reported with every other
// problem of the file; resolveCaptureConfig applies the same schema for
// callers that start a capture directly.
import { integer, object, oneOf, optional, show, validate, z, type Infer, type Schema } from '@heart/kernel'
import { invalidConfig } from './errors.js'
import { DEFAULT_RECONNECT } from './reconnect.js'
import { parseSource } from './sources/registry.js'
import { parseSize } from './sources/url.js'
import type { CaptureConfig, Size } from './types.js'

export const DEFAULT_MAX_SIZE: Size = Object.freeze({ width: 1920, height: 1080 })

export const PIXEL_FORMAT_NAMES = ['yuv420p', 'nv12', 'gray', 'rgb24', 'bgr24'] as const
export const DECODER_NAMES = ['auto', 'software', 'vaapi', 'cuda', 'v4l2m2m'] as const

/** A positive number of milliseconds, with its default. */
function positiveMs(fallback: number): z.ZodType<number> {
  const wrong = (iss: { input?: unknown }): string => `got ${show(iss.input)}, expected a positive number of milliseconds`
  return z.number({ error: wrong }).gt(0, { error: wrong }).default(fallback) as unknown as z.ZodType<number>
}

/** A non-negative number of milliseconds (0 has a meaning: "off" or "at once"). */
function msOrZero(fallback: number, zero: string): z.ZodType<number> {
  const wrong = (iss: { input?: unknown }): string => `got ${show(iss.input)}, expected a number of milliseconds >= 0 (${zero})`
  return z.number({ error: wrong }).min(0, { error: wrong }).default(fallback) as unknown as z.ZodType<number>
}

/** WIDTHxHEIGHT or { width, height }, checked by the URL grammar's size rule (even, 16..max). */
const maxSizeSchema = z.union([z.string(), z.strictObject({ width: z.number().int(), height: z.number().int() })], {
  error: (iss) => `got ${show(iss.input)}, expected WIDTHxHEIGHT (for example 1920x1080) or { width, height }`,
}).superRefine((value, ctx) => {
  try {
    parseSize(typeof value === 'string' ? value : `${value.width}x${value.height}`, 'expect.maxSize')
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `got ${show(value)}: ${(error as Error).message.replace(/^invalid source: /, '')}` })
  }
})

const reconnectSchema = object({
  initialMs: positiveMs(DEFAULT_RECONNECT.initialMs),
  maxMs: positiveMs(DEFAULT_RECONNECT.maxMs),
  jitter: z
    .number({ error: (iss) => `got ${show(iss.input)}, expected a fraction from 0 to below 1` })
    .min(0, { error: (iss) => `got ${show(iss.input)}, expected a fraction from 0 to below 1` })
    .lt(1, { error: (iss) => `got ${show(iss.input)}, expected a fraction from 0 to below 1` })
    .default(DEFAULT_RECONNECT.jitter),
  probeIntervalMs: msOrZero(DEFAULT_RECONNECT.probeIntervalMs, '0 disables probing'),
  stableMs: msOrZero(DEFAULT_RECONNECT.stableMs, '0: recovered at the first frame'),
}).superRefine((r, ctx) => {
  if (r.maxMs < r.initialMs) ctx.addIssue({ code: 'custom', path: ['maxMs'], message: `${r.maxMs} is below reconnect.initialMs (${r.initialMs}), expected maxMs >= initialMs` })
})

/** Even sizes and offsets: 4:2:0 chroma (yuv420p, nv12) has one sample per 2x2 pixels. */
function evenInteger(what: string, min: number, max: number, fallback?: number): z.ZodType<number> {
  const wrong = (iss: { input?: unknown }): string => `got ${show(iss.input)}, expected an even integer from ${min} to ${max} (${what})`
  const schema = z.number({ error: wrong }).int({ error: wrong }).min(min, { error: wrong }).max(max, { error: wrong }).multipleOf(2, { error: wrong })
  return (fallback === undefined ? schema : schema.default(fallback)) as unknown as z.ZodType<number>
}

/**
 * What the ring holds of each frame beyond its pixel format: a region of the
 * source kept, then a size it is scaled to, both in the one copy the native
 * source makes into the slot. Both sides of the size, so the ring's slots
 * can be sized from it before the camera says what it sends.
 */
const outputSchema = object({
  width: optional(evenInteger('pixels', 16, 8192)),
  height: optional(evenInteger('pixels', 16, 8192)),
  crop: optional(object({
    x: evenInteger('source pixels from the left', 0, 16384, 0),
    y: evenInteger('source pixels from the top', 0, 16384, 0),
    width: evenInteger('source pixels', 16, 8192),
    height: evenInteger('source pixels', 16, 8192),
  })),
}).superRefine((o, ctx) => {
  if ((o.width === undefined) !== (o.height === undefined)) {
    ctx.addIssue({ code: 'custom', path: [o.width === undefined ? 'width' : 'height'], message: 'missing: give output.width and output.height together (the ring\'s slots are sized from them)' })
  }
})

/** Frames per second delivered at most; the rest are decoded (H.264 needs them) and skipped before the copy. */
const fpsCapSchema = z.number({ error: (iss) => `got ${show(iss.input)}, expected frames per second above 0 and at most 1000` })
  .gt(0, { error: (iss) => `got ${show(iss.input)}, expected frames per second above 0 and at most 1000` })
  .max(1000, { error: (iss) => `got ${show(iss.input)}, expected frames per second above 0 and at most 1000` })

/** The capture options' fields: the `camera:` section, and each entry of `cameras:` beside its source. */
export const cameraOptionsShape = {
  /** What the camera should send; a stream outside it is refused with a named error. */
  expect: object({
    codec: optional(oneOf(['h264', 'hevc', 'h265'] as const)),
    maxSize: maxSizeSchema.default(`${DEFAULT_MAX_SIZE.width}x${DEFAULT_MAX_SIZE.height}`),
  }),
  pixFmt: oneOf(PIXEL_FORMAT_NAMES, { default: 'yuv420p' }),
  stallTimeoutMs: positiveMs(2000),
  openTimeoutMs: positiveMs(5000),
  redAfterMs: positiveMs(3000),
  yellowForMs: positiveMs(30_000),
  reconnect: reconnectSchema,
  decodeThreads: integer({ min: 0, max: 64, default: 2 }),
  decoder: oneOf(DECODER_NAMES, { default: 'auto' }),
  output: outputSchema,
  fpsCap: optional(fpsCapSchema as unknown as Schema<number>),
}
/**
 * The checks across capture options (a crop inside expect.maxSize, a frame
 * gap under the stall and red timeouts): for the `camera:` section and each
 * entry of `cameras:`, so the message names the option where it is.
 */
export function checkCameraOptions(o: Pick<Infer<typeof cameraOptionsSchema>, 'expect' | 'output' | 'fpsCap' | 'stallTimeoutMs' | 'redAfterMs'>, ctx: z.RefinementCtx): void {
  const max = typeof o.expect.maxSize === 'string' ? o.expect.maxSize : `${o.expect.maxSize.width}x${o.expect.maxSize.height}`
  const [maxWidth, maxHeight] = max.split('x').map(Number) as [number, number]
  const crop = o.output.crop
  if (crop && (crop.x + crop.width > maxWidth || crop.y + crop.height > maxHeight)) {
    ctx.addIssue({ code: 'custom', path: ['output', 'crop'], message: `${crop.width}x${crop.height} at ${crop.x},${crop.y} reaches outside expect.maxSize ${max}; keep x + width <= ${maxWidth} and y + height <= ${maxHeight}` })
  }
  if (o.fpsCap !== undefined) {
    const gapMs = 1000 / o.fpsCap
    for (const key of ['stallTimeoutMs', 'redAfterMs'] as const) {
      if (gapMs >= o[key]) ctx.addIssue({ code: 'custom', path: ['fpsCap'], message: `${o.fpsCap} fps leaves ${gapMs.toFixed(0)} ms between frames, not below ${key} (${o[key]}); raise fpsCap or ${key}` })
    }
  }
}
export const cameraOptionsSchema = object(cameraOptionsShape)
const checkedCameraOptionsSchema = cameraOptionsSchema.superRefine(checkCameraOptions)
export type CameraOptions = Infer<typeof cameraOptionsSchema>

export type CaptureConfigInput = Partial<Omit<CaptureConfig, 'expect' | 'reconnect' | 'output'>> & {
  source: string
  expect?: { codec?: 'h264' | 'hevc' | 'h265'; maxSize?: Size | string }
  reconnect?: Partial<CaptureConfig['reconnect']>
  /** As written in the config: both sides of the size, and a crop. */
  output?: { width?: number; height?: number; crop?: { x?: number; y?: number; width: number; height: number } }
}

export function resolveCaptureConfig(input: CaptureConfigInput): CaptureConfig {
  const { source, ...options } = input
  const spec = parseSource(source) // throws INVALID_SOURCE with a hint
  const { value, problems } = validate(checkedCameraOptionsSchema, options)
  if (problems.length > 0) throw invalidConfig(problems.join('; '), 'See docs/configuration.md (camera)')
  // synthetic:// is drawn at its ?size and ?fps, not decoded: the native source's crop, scale and rate cap never see it.
  if (spec.kind === 'synthetic' && (value.output.width !== undefined || value.output.crop !== undefined || value.fpsCap !== undefined)) {
    throw invalidConfig('output and fpsCap apply to decoded sources, and synthetic:// draws its frames at ?size and ?fps', 'Leave them out, or set the size and rate in the synthetic:// URL')
  }
  const maxIn = value.expect.maxSize
  const maxSize = typeof maxIn === 'string' ? parseSize(maxIn, 'expect.maxSize') : { width: maxIn.width, height: maxIn.height }
  const codec = value.expect.codec
  return {
    source,
    expect: codec === undefined ? { maxSize } : { codec: codec === 'h265' ? 'hevc' : codec, maxSize },
    pixFmt: value.pixFmt,
    stallTimeoutMs: value.stallTimeoutMs,
    openTimeoutMs: value.openTimeoutMs,
    redAfterMs: value.redAfterMs,
    yellowForMs: value.yellowForMs,
    reconnect: { ...value.reconnect },
    decodeThreads: value.decodeThreads,
    decoder: value.decoder,
    output: outputOf(value.output),
    ...(value.fpsCap === undefined ? {} : { fpsCap: value.fpsCap }),
  }
}

function outputOf(o: CameraOptions['output']): CaptureConfig['output'] {
  const out: CaptureConfig['output'] = {}
  if (o.width !== undefined && o.height !== undefined) out.size = { width: o.width, height: o.height }
  if (o.crop) out.crop = { x: o.crop.x, y: o.crop.y, width: o.crop.width, height: o.crop.height }
  return out
}

/** The largest frame the ring must hold: the output size, else the crop, else expect.maxSize (the native source refuses bigger streams). */
export function ringFrameSize(config: Pick<CaptureConfig, 'expect' | 'output'>): Size {
  return config.output.size ?? (config.output.crop ? { width: config.output.crop.width, height: config.output.crop.height } : config.expect.maxSize)
}
