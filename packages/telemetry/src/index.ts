export { MetricsRegistry } from './registry.js'
export type { MetricInstance } from './registry.js'
export { Counter } from './counter.js'
export { Gauge } from './gauge.js'
export { Histogram, HistogramSnapshot, HistogramWindow } from './histogram.js'
export type { HistogramMemory } from './histogram.js'
export { BucketScheme, DEFAULT_HISTOGRAM_OPTIONS } from './buckets.js'
export type { HistogramOptions } from './buckets.js'
export {
  heartCatalogue,
  HeartMetric,
  DEFAULT_CONSUMERS,
  DEFAULT_DROP_REASONS,
  DEFAULT_LATENCY_STAGES,
  DEFAULT_THERMAL_LOSS_REASONS,
} from './heart-catalogue.js'
export type { HeartCatalogueOptions } from './heart-catalogue.js'
export type { Attributes, Catalogue, MetricDeclaration, MetricKind } from './types.js'
export type { TelemetryError } from './errors.js'
export { METRICS_MAGIC, METRICS_LAYOUT_VERSION } from './layout.js'
export { renderPrometheus, prometheusRoute, DEFAULT_EXPORT_BOUNDS_MS, PROMETHEUS_CONTENT_TYPE } from './prometheus.js'
export type { PrometheusOptions } from './prometheus.js'
export { prometheusNaming } from './naming.js'
export type { PrometheusNaming } from './naming.js'
export type { HttpRoute } from './types.js'
export { startOtlpMetrics, RegistryMetricProducer, DEFAULT_OTLP_METRICS_URL } from './otel-metrics.js'
export type { OtlpMetricsOptions, OtlpMetricsHandle } from './otel-metrics.js'
export { startTracing, FrameTracer, DEFAULT_OTLP_TRACES_URL, TRACER_NAME } from './tracing.js'
export type { TracingOptions, TracingHandle, FrameTracerOptions } from './tracing.js'
export { TraceTable } from './trace-table.js'
export type { FrameTraceContext } from './trace-table.js'
export { monotonicToHrTime } from './clock.js'
export { createLogger, traceFields } from './logging.js'
export type { LoggerConfig, TraceFields } from './logging.js'
export { dashboardQueries, toPromQl } from './dashboard.js'
export type { DashboardQuery, PromQlSubstitutions } from './dashboard.js'
