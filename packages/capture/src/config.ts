// Capture configuration (the `camera:` section): its schema, defaults and
// resolution. The schema is part of heart's one config schema, so a typo
// here (`pixfmt`, `decodr`, `expect.maxsize`) is reported with every other
// problem of the file; resolveCaptureConfig applies the same schema for
// callers that start a capture directly.
import { integer, object, oneOf, optional, show, validate, z, type Infer } from '@heart/kernel'
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

/** The `camera:` section: every capture option beyond the URL, with its default. */
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
}
export const cameraOptionsSchema = object(cameraOptionsShape)
export type CameraOptions = Infer<typeof cameraOptionsSchema>

export type CaptureConfigInput = Partial<Omit<CaptureConfig, 'expect' | 'reconnect'>> & {
  source: string
  expect?: { codec?: 'h264' | 'hevc' | 'h265'; maxSize?: Size | string }
  reconnect?: Partial<CaptureConfig['reconnect']>
}

export function resolveCaptureConfig(input: CaptureConfigInput): CaptureConfig {
  const { source, ...options } = input
  parseSource(source) // throws INVALID_SOURCE with a hint
  const { value, problems } = validate(cameraOptionsSchema, options)
  if (problems.length > 0) throw invalidConfig(problems.join('; '), 'See docs/configuration.md (camera)')
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
  }
}
