import t from 'tap'
import { MetricsRegistry } from '../src/registry.js'
import { sampleCatalogue, SampleMetric, SAMPLE_DROP_REASONS } from './fixtures/sample-catalogue.js'
import { startOtlpMetrics, RegistryMetricProducer } from '../src/otel-metrics.js'
import { startOtlpReceiver, decodeAttributes } from '../src/testing/otlp-receiver.js'

interface JsonPoint {
  attributes?: { key: string; value: { stringValue?: string } }[]
  asInt?: string | number
  asDouble?: number
  count?: string | number
  sum?: number
  min?: number
  max?: number
  bucketCounts?: (string | number)[]
  explicitBounds?: number[]
}
interface JsonMetric {
  name: string
  unit: string
  sum?: { dataPoints: JsonPoint[]; isMonotonic: boolean; aggregationTemporality: number }
  gauge?: { dataPoints: JsonPoint[] }
  histogram?: { dataPoints: JsonPoint[]; aggregationTemporality: number }
}

t.test('the registry is pushed over OTLP/HTTP as sums, gauges and histograms', async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  const registry = MetricsRegistry.create(sampleCatalogue())
  registry.counter(SampleMetric.framesPublished).add(600)
  registry.counter(SampleMetric.framesDropped, { consumer: 'encoder', reason: 'slow' }).add(3)
  registry.gauge(SampleMetric.cameraLastFrameAge).set(16.5)
  const decode = registry.histogram(SampleMetric.decodeDuration)
  for (let i = 0; i < 100; i++) decode.record(i < 50 ? 2.9 : 7.5)

  const otlp = startOtlpMetrics(registry, { url: `${receiver.url}/v1/metrics`, intervalMs: 60_000, serviceName: 'heart-test', histogramBounds: [1, 5, 10] })
  t.teardown(() => otlp.shutdown())
  await otlp.forceFlush()
  t.ok(receiver.metrics.length >= 1, 'an export arrived')
  const body = receiver.metrics.at(-1)! as { resourceMetrics: { resource: { attributes: never }; scopeMetrics: { metrics: JsonMetric[] }[] }[] }
  const rm = body.resourceMetrics[0]!
  t.equal(decodeAttributes(rm.resource.attributes)['service.name'], 'heart-test')
  const metrics = rm.scopeMetrics.flatMap((s) => s.metrics)
  const find = (name: string): JsonMetric => metrics.find((m) => m.name === name)!

  const published = find(SampleMetric.framesPublished)
  t.equal(published.unit, '{frame}')
  t.equal(published.sum?.isMonotonic, true)
  t.equal(published.sum?.aggregationTemporality, 2, 'cumulative')
  t.equal(Number(published.sum?.dataPoints[0]?.asInt), 600)

  const dropped = find(SampleMetric.framesDropped).sum!.dataPoints
  t.equal(dropped.length, 4 * SAMPLE_DROP_REASONS.length)
  const slowEncoder = dropped.find((p) => {
    const a = decodeAttributes(p.attributes as never)
    return a['consumer'] === 'encoder' && a['reason'] === 'slow'
  })
  t.equal(Number(slowEncoder?.asInt), 3)

  t.equal(find(SampleMetric.cameraLastFrameAge).gauge?.dataPoints[0]?.asDouble, 16.5)

  const h = find(SampleMetric.decodeDuration).histogram!.dataPoints[0]!
  t.equal(Number(h.count), 100)
  t.same(h.explicitBounds, [1, 5, 10])
  t.same(h.bucketCounts?.map(Number), [0, 50, 50, 0], 'per-bucket counts, one more than bounds')
  t.ok(Math.abs(h.sum! - (50 * 2.9 + 50 * 7.5)) < 0.01)
  t.ok(Math.abs(h.min! - 2.9) < 0.001 && Math.abs(h.max! - 7.5) < 0.001)
  const emptyLatency = find(SampleMetric.frameLatency).histogram!.dataPoints
  t.equal(emptyLatency.length, 3, 'one point per stage')
  t.equal(Number(emptyLatency[0]!.count), 0)
})

t.test('producer output without an exporter', async (t) => {
  const registry = MetricsRegistry.create(sampleCatalogue())
  registry.counter(SampleMetric.cameraReopens).add(2)
  const result = await new RegistryMetricProducer(registry).collect()
  t.same(result.errors, [])
  const metrics = result.resourceMetrics.scopeMetrics[0]!.metrics
  t.equal(metrics.length, registry.catalogue.length, 'one metric per declaration')
  const reopens = metrics.find((m) => m.descriptor.name === SampleMetric.cameraReopens)!
  t.equal((reopens.dataPoints[0] as { value: number }).value, 2)
})
