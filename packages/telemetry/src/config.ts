// The `telemetry` section of heart's config, validated here (the CLI only
// knows it is an object) so every mistake gets one clear message.

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

const KEYS = { top: ['enabled', 'otlp', 'traces', 'upkeepMs'], otlp: ['endpoint', 'headers', 'metricsIntervalMs'], traces: ['sampleEvery', 'endpoint', 'exportDelayMs'] }

/**
 * Validates the `telemetry` section and fills defaults. `where` names the
 * section in errors (e.g. "heart.yaml: telemetry").
 */
export function parseTelemetryConfig(input: unknown, where = 'telemetry'): TelemetryConfig {
  if (input === undefined || input === null) return structuredClone(DEFAULT_TELEMETRY_CONFIG)
  const top = objectAt(input, where)
  unknownKeys(top, KEYS.top, where)
  const otlp = top.otlp === undefined ? {} : objectAt(top.otlp, `${where}.otlp`)
  unknownKeys(otlp, KEYS.otlp, `${where}.otlp`)
  const traces = top.traces === undefined ? {} : objectAt(top.traces, `${where}.traces`)
  unknownKeys(traces, KEYS.traces, `${where}.traces`)
  const d = DEFAULT_TELEMETRY_CONFIG
  return {
    enabled: bool(top.enabled, `${where}.enabled`, d.enabled),
    otlp: {
      endpoint: url(otlp.endpoint, `${where}.otlp.endpoint`, 'the base URL of an OTLP/HTTP receiver, e.g. http://127.0.0.1:4318'),
      headers: headers(otlp.headers, `${where}.otlp.headers`),
      metricsIntervalMs: int(otlp.metricsIntervalMs, `${where}.otlp.metricsIntervalMs`, d.otlp.metricsIntervalMs, 100, 3_600_000),
    },
    traces: {
      sampleEvery: int(traces.sampleEvery, `${where}.traces.sampleEvery`, d.traces.sampleEvery, 1, 1_000_000),
      endpoint: url(traces.endpoint, `${where}.traces.endpoint`, 'a full OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces'),
      exportDelayMs: int(traces.exportDelayMs, `${where}.traces.exportDelayMs`, d.traces.exportDelayMs, 100, 60_000),
    },
    upkeepMs: int(top.upkeepMs, `${where}.upkeepMs`, d.upkeepMs, 50, 60_000),
  }
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

function objectAt(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badTelemetryConfig(where, `must be an object, got ${describe(v)}`)
  return v as Record<string, unknown>
}

function unknownKeys(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw badTelemetryConfig(`${where}.${k}`, `is not a setting; allowed here: ${allowed.join(', ')}`)
  }
}

function bool(v: unknown, where: string, fallback: boolean): boolean {
  if (v === undefined) return fallback
  if (typeof v !== 'boolean') throw badTelemetryConfig(where, `must be true or false, got ${describe(v)}`)
  return v
}

function int(v: unknown, where: string, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badTelemetryConfig(where, `must be a whole number from ${min} to ${max}, got ${describe(v)}`)
  }
  return v
}

function url(v: unknown, where: string, hint: string): string | null {
  if (v === undefined || v === null) return null
  if (typeof v !== 'string') throw badTelemetryConfig(where, `must be ${hint}, got ${describe(v)}`)
  let parsed: URL
  try {
    parsed = new URL(v)
  } catch {
    throw badTelemetryConfig(where, `must be ${hint}, got a string that is not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw badTelemetryConfig(where, `must be an http:// or https:// URL (${hint}), got ${parsed.protocol}//`)
  // Credentials belong in headers: a URL ends up in logs.
  if (parsed.username || parsed.password) throw badTelemetryConfig(where, 'must not carry credentials; put them in telemetry.otlp.headers (e.g. Authorization)')
  return v
}

function headers(v: unknown, where: string): Record<string, string> {
  if (v === undefined) return {}
  const o = objectAt(v, where)
  const out: Record<string, string> = {}
  for (const [k, value] of Object.entries(o)) {
    if (typeof value !== 'string') throw badTelemetryConfig(`${where}.${k}`, `must be a string, got ${describe(value)}`)
    out[k] = value
  }
  return out
}

/** Names the type, never the value: a header may be a secret. */
function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'number') return String(v)
  if (typeof v === 'boolean') return String(v)
  return `a ${typeof v}`
}
