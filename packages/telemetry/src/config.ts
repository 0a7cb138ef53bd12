// The `telemetry` section of heart's config: its schema (which heart's one
// config schema includes) and its defaults.

import { z } from 'zod'
import { badTelemetryConfig } from './errors.js'

export interface TelemetryConfig {
  /**
   * false: no metric upkeep, no tracing, no exporters (OTLP). The shared
   * registry and GET /metrics stay, because /health reads the same figures.
   */
  enabled: boolean
  otlp: {
    /** Base URL of an OTLP/HTTP receiver (collector, Grafana Alloy, Grafana Cloud's OTLP gateway); null: no OTLP. */
    endpoint: string | null
    /** Extra request headers (Grafana Cloud: Authorization). Never logged. */
    headers: Record<string, string>
    /** How often metrics are pushed. */
    metricsIntervalMs: number
  }
  traces: {
    /** Sample frames whose seq is a multiple of this (60 = one frame a second at 60 FPS). */
    sampleEvery: number
    /** Full OTLP/HTTP traces URL; default `<otlp.endpoint>/v1/traces`. null with no otlp.endpoint: no tracing. */
    endpoint: string | null
    /**
     * How long each thread batches its spans before one export. Every thread
     * (capture and each consumer) exports its own, so this sets the number of
     * HTTP requests: threads / (exportDelayMs / 1000) a second.
     */
    exportDelayMs: number
  }
  /** How often the main loop copies ring and camera books into the metrics. */
  upkeepMs: number
}

export const DEFAULT_TELEMETRY_CONFIG: TelemetryConfig = Object.freeze({
  enabled: true,
  otlp: { endpoint: null, headers: {}, metricsIntervalMs: 10_000 },
  traces: { sampleEvery: 60, endpoint: null, exportDelayMs: 5000 },
  upkeepMs: 1000,
}) as TelemetryConfig

/** Names the type, never the value: an endpoint or a header may hold a secret. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'number') return String(v)
  if (typeof v === 'boolean') return String(v)
  return `a ${typeof v}`
}

type RawIssue = { input?: unknown }

function wholeNumber(fallback: number, min: number, max: number) {
  const wrong = (iss: RawIssue): string => `got ${describe(iss.input)}, expected a whole number from ${min} to ${max}`
  return z.number({ error: wrong }).int({ error: wrong }).min(min, { error: wrong }).max(max, { error: wrong }).default(fallback)
}

/** An http(s) URL without credentials (a URL ends up in logs), or null. */
function httpUrl(hint: string) {
  return z
    .union([z.string(), z.null()], { error: (iss) => `got ${describe(iss.input)}, expected ${hint}` })
    .superRefine((v, ctx) => {
      if (v === null) return
      let parsed: URL
      try {
        parsed = new URL(v)
      } catch {
        ctx.addIssue({ code: 'custom', message: `got a string that is not a URL, expected ${hint}` })
        return
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `got ${parsed.protocol}//, expected an http:// or https:// URL (${hint})` })
      else if (parsed.username || parsed.password) {
        ctx.addIssue({ code: 'custom', message: 'got a URL with credentials: a URL must not carry credentials; put them in telemetry.otlp.headers (e.g. Authorization)' })
      }
    })
    .default(null)
}

/** An absent or empty (null) section reads as "all defaults". */
const nothingIsEmpty = (v: unknown): unknown => (v === undefined || v === null ? {} : v)

function section<S extends z.ZodRawShape>(shape: S) {
  return z.preprocess(nothingIsEmpty, z.strictObject(shape, { error: (iss) => (iss.code === 'invalid_type' ? `got ${describe(iss.input)}, expected an object` : undefined) }))
}

const d = DEFAULT_TELEMETRY_CONFIG

/**
 * The `telemetry` section (docs/telemetry.md), in plain zod: heart's config
 * schema includes it, so its problems are reported with every other problem
 * of the file (unknown keys get the kernel's did-you-mean there).
 */
export const telemetryConfigSchema = section({
  enabled: z.boolean({ error: (iss) => `got ${describe(iss.input)}, expected true or false` }).default(d.enabled),
  otlp: section({
    endpoint: httpUrl('the base URL of an OTLP/HTTP receiver, e.g. http://127.0.0.1:4318'),
    headers: z
      .record(z.string(), z.string({ error: (iss) => `got ${describe(iss.input)}, expected a string` }), { error: (iss) => `got ${describe(iss.input)}, expected an object of header names and values` })
      .default({}),
    metricsIntervalMs: wholeNumber(d.otlp.metricsIntervalMs, 100, 3_600_000),
  }),
  traces: section({
    sampleEvery: wholeNumber(d.traces.sampleEvery, 1, 1_000_000),
    endpoint: httpUrl('a full OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces'),
    exportDelayMs: wholeNumber(d.traces.exportDelayMs, 100, 60_000),
  }),
  upkeepMs: wholeNumber(d.upkeepMs, 50, 60_000),
}) as unknown as z.ZodType<TelemetryConfig>

/**
 * Validates the `telemetry` section and fills defaults, on the same schema
 * heart's config uses. `where` names the section in errors (e.g.
 * "heart.yaml: telemetry"); every problem is listed.
 */
export function parseTelemetryConfig(input: unknown, where = 'telemetry'): TelemetryConfig {
  const result = telemetryConfigSchema.safeParse(input, { error: unknownKeyText })
  if (result.success) return result.data
  const problems = result.error.issues.flatMap((issue) => {
    const at = [where, ...issue.path.map(String)].join('.')
    return issue.code === 'unrecognized_keys' ? issue.message.split('\n').map((line) => `${at}.${line}`) : [`${at}: ${issue.message}`]
  })
  throw badTelemetryConfig(problems)
}

/** Unknown keys, one line each (heart's config words them with a did-you-mean instead). */
function unknownKeyText(iss: z.core.$ZodRawIssue): string | undefined {
  if (iss.code !== 'unrecognized_keys') return undefined
  const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape
  const known = shape ? Object.keys(shape).join(', ') : ''
  return iss.keys.map((key) => `${key}: unknown setting${known ? `; known: ${known}` : ''}`).join('\n')
}

/** Where metrics go over OTLP, or null for none. */
export function otlpMetricsUrl(config: TelemetryConfig): string | null {
  if (!config.enabled || config.otlp.endpoint === null) return null
  return joinPath(config.otlp.endpoint, 'v1/metrics')
}

/** Where spans go, or null when tracing is off. */
export function otlpTracesUrl(config: TelemetryConfig): string | null {
  if (!config.enabled) return null
  if (config.traces.endpoint !== null) return config.traces.endpoint
  return config.otlp.endpoint === null ? null : joinPath(config.otlp.endpoint, 'v1/traces')
}

function joinPath(base: string, path: string): string {
  return base.endsWith('/') ? base + path : `${base}/${path}`
}
