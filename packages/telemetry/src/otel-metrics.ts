// OpenTelemetry metrics from the shared registry. The registry is already
// aggregated (by every thread, in shared memory), so instead of instruments it
// is plugged into the SDK as a MetricProducer: each collection reads the
// registry once and hands the SDK cumulative sums, gauges and explicit-bucket
// histograms, which any OpenTelemetry exporter (OTLP/HTTP here) can ship.

import { hostname } from 'node:os'
import { ValueType, type HrTime, type Attributes as OtelAttributes } from '@opentelemetry/api'
import { hrTime } from '@opentelemetry/core'
import { resourceFromAttributes, emptyResource } from '@opentelemetry/resources'
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http'
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics'
import { DEFAULT_EXPORT_BOUNDS_MS } from './prometheus.js'
import { checkMetricsSource, metricFamilies, type MetricsSource, type SourceSeries } from './metrics-source.js'
import type { Counter } from './counter.js'
import type { Gauge } from './gauge.js'
import type { Histogram } from './histogram.js'
import type { MetricDeclaration } from './types.js'
import { ExportHealth, OTLP_EXPORT_TIMEOUT_MS, SDK_EXPORT_BACKSTOP_MS, boundedShutdown, type ExportLog } from './otlp-export.js'

export const DEFAULT_OTLP_METRICS_URL = 'http://127.0.0.1:4318/v1/metrics'

/** Hands the SDK the source's series: one metric per name, with data points from every registry (its labels as attributes). */
export class RegistryMetricProducer implements MetricProducer {
  private readonly startTime: HrTime
  private readonly bounds: number[]

  constructor(
    private readonly source: MetricsSource,
    options: { histogramBounds?: readonly number[]; startTime?: HrTime } = {},
  ) {
    // A source that cannot be exported fails when heart starts, not at the first collection.
    checkMetricsSource(source)
    this.startTime = options.startTime ?? hrTime()
    this.bounds = [...(options.histogramBounds ?? DEFAULT_EXPORT_BOUNDS_MS)].sort((a, b) => a - b)
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrTime()
    const metrics: MetricData[] = []
    for (const family of metricFamilies(this.source)) {
      const descriptor = descriptorOf(family.declaration)
      let data: MetricData | undefined
      for (const series of family.series) data = this.addPoint(data, descriptor, series, endTime)
      if (data) metrics.push(data)
    }
    return {
      // The reader replaces this with its MeterProvider's resource.
      resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: '@heart/telemetry' }, metrics }] },
      errors: [],
    }
  }

  private addPoint(data: MetricData | undefined, descriptor: ReturnType<typeof descriptorOf>, { instance, attributes: labels }: SourceSeries, endTime: HrTime): MetricData {
    const attributes = labels as OtelAttributes
    if (instance.kind === 'counter') {
      data ??= { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: [] }
      ;(data.dataPoints as { startTime: HrTime; endTime: HrTime; attributes: OtelAttributes; value: number }[]).push({
        startTime: this.startTime,
        endTime,
        attributes,
        value: (instance.handle as Counter).value(),
      })
    } else if (instance.kind === 'gauge') {
      data ??= { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [] }
      ;(data.dataPoints as { startTime: HrTime; endTime: HrTime; attributes: OtelAttributes; value: number }[]).push({
        startTime: this.startTime,
        endTime,
        attributes,
        value: (instance.handle as Gauge).value(),
      })
    } else {
      data ??= { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM, dataPoints: [] }
      const snapshot = (instance.handle as Histogram).snapshot()
      // OTLP explicit buckets are per-interval counts, one more than bounds.
      const counts: number[] = []
      let below = 0
      for (const cumulative of snapshot.cumulativeCounts(this.bounds)) {
        counts.push(cumulative - below)
        below = cumulative
      }
      counts.push(snapshot.count - below)
      const value = {
        buckets: { boundaries: this.bounds, counts },
        count: snapshot.count,
        sum: snapshot.sum,
        ...(snapshot.count > 0 ? { min: snapshot.min, max: snapshot.max } : {}),
      }
      ;(data.dataPoints as { startTime: HrTime; endTime: HrTime; attributes: OtelAttributes; value: typeof value }[]).push({
        startTime: this.startTime,
        endTime,
        attributes,
        value,
      })
    }
    return data
  }
}

function descriptorOf(d: MetricDeclaration): { name: string; description: string; unit: string; valueType: ValueType } {
  return { name: d.name, description: d.description, unit: d.unit, valueType: d.kind === 'counter' ? ValueType.INT : ValueType.DOUBLE }
}

export interface OtlpMetricsOptions {
  /** OTLP/HTTP metrics endpoint. Default DEFAULT_OTLP_METRICS_URL (or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT). */
  url?: string
  headers?: Record<string, string>
  /** Export period. Default 10 s. */
  intervalMs?: number
  serviceName?: string
  resourceAttributes?: OtelAttributes
  histogramBounds?: readonly number[]
  /** Use this exporter instead of OTLP/HTTP (tests). */
  exporter?: PushMetricExporter
  /** Where the one warning about an unreachable collector (and its recovery) goes. Default stderr. */
  log?: ExportLog
}

export interface OtlpMetricsHandle {
  meterProvider: MeterProvider
  /** Whether the last export failed (the warning has been logged). */
  readonly failing: boolean
  forceFlush(): Promise<void>
  /** A last push, then stop; never longer than OTLP_STOP_BOUND_MS, and no push at all while the collector is down. */
  shutdown(): Promise<void>
}

/** Main thread: periodically pushes the source (one registry, or every camera's beside the global one) to an OTLP/HTTP endpoint. */
export function startOtlpMetrics(source: MetricsSource, options: OtlpMetricsOptions = {}): OtlpMetricsHandle {
  const url = options.url ?? process.env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'] ?? DEFAULT_OTLP_METRICS_URL
  const health = new ExportHealth({ signal: 'metrics', url, ...(options.headers ? { headers: options.headers } : {}), ...(options.log ? { log: options.log } : {}) })
  const exporter = health.watch(
    options.exporter ??
      new OTLPMetricExporter({ url, headers: options.headers, temporalityPreference: AggregationTemporality.CUMULATIVE, timeoutMillis: OTLP_EXPORT_TIMEOUT_MS }),
  )
  const intervalMs = options.intervalMs ?? 10_000
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: intervalMs,
    exportTimeoutMillis: Math.min(intervalMs, SDK_EXPORT_BACKSTOP_MS),
    metricProducers: [new RegistryMetricProducer(source, { histogramBounds: options.histogramBounds })],
  })
  const meterProvider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'heart', 'service.instance.id': hostname(), ...options.resourceAttributes }),
    readers: [reader],
  })
  return {
    meterProvider,
    get failing() {
      return health.isFailing
    },
    forceFlush: () => meterProvider.forceFlush(),
    shutdown: () => boundedShutdown(health, () => meterProvider.shutdown()),
  }
}
