// Capture configuration: defaults, and validation that names the bad field.
import { invalidConfig } from './errors.js'
import { DEFAULT_RECONNECT } from './reconnect.js'
import { parseSource } from './sources/registry.js'
import { parseSize } from './sources/url.js'
import type { CaptureConfig, Size } from './types.js'

export const DEFAULT_MAX_SIZE: Size = Object.freeze({ width: 1920, height: 1080 })

export type CaptureConfigInput = Partial<Omit<CaptureConfig, 'expect' | 'reconnect'>> & {
  source: string
  expect?: { codec?: 'h264' | 'hevc' | 'h265'; maxSize?: Size | string }
  reconnect?: Partial<CaptureConfig['reconnect']>
}

export function resolveCaptureConfig(input: CaptureConfigInput): CaptureConfig {
  parseSource(input.source) // throws INVALID_SOURCE with a hint
  const codecIn = input.expect?.codec
  if (codecIn !== undefined && codecIn !== 'h264' && codecIn !== 'hevc' && codecIn !== 'h265') {
    throw invalidConfig(`expect.codec = ${JSON.stringify(codecIn)}`, 'Use "h264" or "hevc" (or leave it out to accept either)')
  }
  const maxIn = input.expect?.maxSize ?? DEFAULT_MAX_SIZE
  let maxSize: Size
  try {
    maxSize = typeof maxIn === 'string' ? parseSize(maxIn, 'expect.maxSize') : parseSize(`${maxIn.width}x${maxIn.height}`, 'expect.maxSize')
  } catch (err) {
    throw invalidConfig(`expect.maxSize = ${JSON.stringify(maxIn)}`, (err as Error).message.replace(/^invalid source: /, ''))
  }
  const config: CaptureConfig = {
    source: input.source,
    expect: codecIn === undefined ? { maxSize } : { codec: codecIn === 'h265' ? 'hevc' : codecIn, maxSize },
    pixFmt: input.pixFmt ?? 'yuv420p',
    stallTimeoutMs: input.stallTimeoutMs ?? 2000,
    openTimeoutMs: input.openTimeoutMs ?? 5000,
    redAfterMs: input.redAfterMs ?? 3000,
    yellowForMs: input.yellowForMs ?? 30_000,
    reconnect: { ...DEFAULT_RECONNECT, ...input.reconnect },
    decodeThreads: input.decodeThreads ?? 2,
    decoder: input.decoder ?? 'auto',
  }
  if (!['yuv420p', 'nv12', 'gray', 'rgb24', 'bgr24'].includes(config.pixFmt)) {
    throw invalidConfig(`pixFmt = ${JSON.stringify(config.pixFmt)}`, 'Use yuv420p, nv12, gray, rgb24 or bgr24')
  }
  for (const key of ['stallTimeoutMs', 'openTimeoutMs', 'redAfterMs', 'yellowForMs'] as const) {
    const v = config[key]
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      throw invalidConfig(`${key} = ${JSON.stringify(v)}`, 'Give a positive number of milliseconds')
    }
  }
  if (!Number.isInteger(config.decodeThreads) || config.decodeThreads < 0 || config.decodeThreads > 64) {
    throw invalidConfig(`decodeThreads = ${config.decodeThreads}`, 'Give an integer from 0 (decoder chooses) to 64')
  }
  if (!['auto', 'software', 'vaapi', 'cuda', 'v4l2m2m'].includes(config.decoder)) {
    throw invalidConfig(`decoder = ${JSON.stringify(config.decoder)}`, 'Use "auto", "software", "vaapi", "cuda" or "v4l2m2m"')
  }
  const r = config.reconnect
  if (!(r.initialMs > 0) || !(r.maxMs >= r.initialMs) || !(r.jitter >= 0 && r.jitter < 1) || !(r.probeIntervalMs >= 0) || !(r.stableMs >= 0)) {
    throw invalidConfig(
      `reconnect = ${JSON.stringify(r)}`,
      'Need initialMs > 0, maxMs >= initialMs, 0 <= jitter < 1, probeIntervalMs >= 0 (0 disables probing), stableMs >= 0',
    )
  }
  return config
}
