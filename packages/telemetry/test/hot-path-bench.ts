// Hot-path cost of the telemetry handles (not a test: prints figures).
// Run: pnpm exec tsc -b packages/telemetry && node packages/telemetry/dist/test/hot-path-bench.js
import { PerformanceObserver } from 'node:perf_hooks'
import { MetricsRegistry } from '../src/registry.js'
import { sampleCameraCatalogue, sampleCatalogue, sampleGlobalCatalogue, SampleMetric } from './fixtures/sample-catalogue.js'
import { renderPrometheus } from '../src/prometheus.js'
import { RegistryMetricProducer } from '../src/otel-metrics.js'
import { HistogramWindow } from '../src/histogram.js'

const registry = MetricsRegistry.create(sampleCatalogue())
const counter = registry.counter(SampleMetric.framesPublished)
const gauge = registry.gauge(SampleMetric.ringOccupancy)
const histogram = registry.histogram(SampleMetric.decodeDuration)
const values = new Float64Array(1024)
for (let i = 0; i < values.length; i++) values[i] = 0.5 + i * 0.037

let gcs = 0
const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length))
observer.observe({ entryTypes: ['gc'] })

const figures: Record<string, { ns_per_op: number; gcs: number }> = {}
async function measure(name: string, n: number, fn: (i: number) => void): Promise<void> {
  for (let i = 0; i < Math.min(n, 100_000); i++) fn(i)
  await new Promise((r) => setTimeout(r, 20))
  const before = gcs
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn(i)
  const ns = Number(process.hrtime.bigint() - t0) / n
  await new Promise((r) => setTimeout(r, 20)) // let gc entries arrive
  figures[name] = { ns_per_op: Math.round(ns * 10) / 10, gcs: gcs - before }
}

await measure('counter.add()', 3_000_000, () => counter.add())
await measure('gauge.set(v)', 3_000_000, (i) => gauge.set(values[i & 1023]!))
await measure('histogram.record(v)', 3_000_000, (i) => histogram.record(values[i & 1023]!))
await measure('gauge.value()', 1_000_000, () => gauge.value())
const window = new HistogramWindow(histogram, 10)
await measure('window.rotate()', 2_000, () => window.rotate())
await measure('histogram.snapshot()', 2_000, () => histogram.snapshot())
await measure('renderPrometheus(heart catalogue)', 50, () => renderPrometheus(registry))
const producer = new RegistryMetricProducer(registry)
await measure('otlp collect()', 50, () => void producer.collect())
// Four cameras, each with its own registry, beside the global one: what /metrics renders with `cameras:`.
const fourCameras = [
  { registry: MetricsRegistry.create(sampleGlobalCatalogue()), labels: {} },
  ...['front', 'rear', 'left', 'right'].map((camera) => ({ registry: MetricsRegistry.create(sampleCameraCatalogue()), labels: { camera } })),
]
await measure('renderPrometheus(4 cameras + global)', 50, () => renderPrometheus(fourCameras))
const fourProducer = new RegistryMetricProducer(fourCameras)
await measure('otlp collect(4 cameras + global)', 50, () => void fourProducer.collect())
observer.disconnect()
console.log(JSON.stringify({ node: process.version, figures }, null, 2))
// 60 FPS budget: ~20 handle updates per frame (counters, 3 latency stages, decode, gauges).
const perFrameNs = 20 * figures['histogram.record(v)']!.ns_per_op
console.log(`~20 updates/frame at 60 FPS = ${((perFrameNs * 60) / 1e6).toFixed(3)} ms CPU per second (${((perFrameNs * 60) / 1e7).toFixed(4)} % of one core)`)
