// Prometheus text exposition (format 0.0.4) rendered straight from the shared
// registry. We render it ourselves instead of going through the OpenTelemetry
// Prometheus exporter because OpenTelemetry has no observable histogram: the
// SDK could only re-aggregate values it records itself, while our histograms
// are already aggregated in shared memory by the threads that record them.

import { Gauge as PromGauge, Registry, collectDefaultMetrics } from 'prom-client'
import { prometheusNaming } from './naming.js'
import { checkMetricsSource, metricFamilies, type MetricsSource } from './metrics-source.js'
import type { Counter } from './counter.js'
import type { Gauge } from './gauge.js'
import type { Histogram } from './histogram.js'
import type { HttpRoute } from '@heart/contracts'
import type { Attributes } from './types.js'

/**
 * Bucket bounds (in the histogram's recorded unit, ms for heart) exposed as
 * `le` labels. Each count is read at the nearest internal bucket edge, so it
 * is exact to within half an internal bucket (<= 1.6 % of the bound).
 */
export const DEFAULT_EXPORT_BOUNDS_MS: readonly number[] = Object.freeze([
  0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 25, 30, 33, 40, 50, 66, 75, 100, 150, 250, 500, 1000, 2500, 5000, 10000,
])

export interface PrometheusOptions {
  /** `le` bounds for every histogram, in recorded units. Default DEFAULT_EXPORT_BOUNDS_MS. */
  histogramBounds?: readonly number[]
  /**
   * Add the process's own series beside heart's: prom-client's standard
   * `process_*` and `nodejs_*` (CPU, memory, file descriptors, event loop
   * lag, GC, heap) and `heart_build_info{version, node}`, so a fleet
   * dashboard reads every box the same way.
   */
  runtime?: { version: string }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/**
 * The source's series as Prometheus text. A name declared by several
 * registries is one family (one HELP and TYPE) holding every registry's
 * series, each with its registry's labels first.
 */
export function renderPrometheus(source: MetricsSource, options: PrometheusOptions = {}): string {
  const bounds = [...(options.histogramBounds ?? DEFAULT_EXPORT_BOUNDS_MS)].sort((a, b) => a - b)
  const lines: string[] = []
  for (const { declaration, series } of metricFamilies(source)) {
    const { name, scale } = prometheusNaming(declaration)
    lines.push(`# HELP ${name} ${escapeHelp(declaration.description)}`)
    lines.push(`# TYPE ${name} ${declaration.kind}`)
    for (const { instance, attributes } of series) {
      const labels = renderLabels(attributes)
      if (instance.kind === 'counter') {
        lines.push(`${name}${labels} ${formatValue((instance.handle as Counter).value())}`)
      } else if (instance.kind === 'gauge') {
        lines.push(`${name}${labels} ${formatValue((instance.handle as Gauge).value() * scale)}`)
      } else {
        const snapshot = (instance.handle as Histogram).snapshot()
        const cumulative = snapshot.cumulativeCounts(bounds)
        for (let b = 0; b < bounds.length; b++) {
          const le = renderLabels(attributes, ['le', formatValue(bounds[b]! * scale)])
          lines.push(`${name}_bucket${le} ${cumulative[b]}`)
        }
        lines.push(`${name}_bucket${renderLabels(attributes, ['le', '+Inf'])} ${snapshot.count}`)
        lines.push(`${name}_sum${labels} ${formatValue(snapshot.sum * scale)}`)
        lines.push(`${name}_count${labels} ${snapshot.count}`)
      }
    }
  }
  return lines.join('\n') + '\n'
}

/** `GET /metrics` for the CLI's HTTP server. */
export function prometheusRoute(source: MetricsSource, options: PrometheusOptions = {}, path = '/metrics'): HttpRoute {
  // A source that cannot be rendered fails here, when heart starts, not at the first scrape.
  checkMetricsSource(source)
  return {
    method: 'GET',
    path,
    async handle(_req, res) {
      const runtime = options.runtime ? await runtimeMetrics(options.runtime.version) : ''
      const body = renderPrometheus(source, options) + runtime
      res.statusCode = 200
      res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE)
      res.setHeader('cache-control', 'no-store')
      res.end(body)
    },
  }
}

let runtimeRegistry: Registry | undefined

/** The process's standard series (one registry per process: the collectors are process-wide). */
async function runtimeMetrics(version: string): Promise<string> {
  if (!runtimeRegistry) {
    runtimeRegistry = new Registry()
    collectDefaultMetrics({ register: runtimeRegistry })
    new PromGauge({ name: 'heart_build_info', help: 'heart version and the Node.js running it (always 1)', labelNames: ['version', 'node'], registers: [runtimeRegistry] })
      .set({ version, node: process.version }, 1)
  }
  return runtimeRegistry.metrics()
}

function renderLabels(attributes: Attributes, extra?: [string, string]): string {
  const parts: string[] = []
  for (const [key, value] of Object.entries(attributes)) parts.push(`${key}="${escapeLabel(value)}"`)
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  // Avoid 0.30000000000000004 style noise from unit scaling.
  return String(Number(v.toPrecision(15)))
}
