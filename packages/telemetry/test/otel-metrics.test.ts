import t from 'tap'
import { MetricsRegistry } from '../src/registry.js'
import { sampleCatalogue, sampleCameraCatalogue, sampleCameraSource, SampleMetric, SAMPLE_DROP_REASONS } from './fixtures/sample-catalogue.js'
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

t.test('producer output of several registries: one metric per name, points of every camera', async (t) => {
  const result = await new RegistryMetricProducer(sampleCameraSource(), { histogramBounds: [1, 2, 50] }).collect()
  t.same(result.errors, [])
  const metrics = result.resourceMetrics.scopeMetrics[0]!.metrics
  const names = metrics.map((m) => m.descriptor.name)
  t.equal(new Set(names).size, names.length, 'no name twice')
  t.equal(names.length, sampleCatalogue().length, 'every name of the cameras and the global registry')
  type Point = { attributes: Record<string, unknown>; value: unknown }
  const points = (name: string): Point[] => metrics.find((m) => m.descriptor.name === name)!.dataPoints as Point[]
  t.strictSame(points(SampleMetric.framesPublished).map((p) => [p.attributes, p.value]), [[{ camera: 'a' }, 10], [{ camera: 'b' }, 20]])
  t.strictSame(points(SampleMetric.ringOccupancy).map((p) => [p.attributes['camera'], p.value]), [['a', 0.25], ['b', 0.75]])
  t.strictSame(
    points(SampleMetric.framesDelivered).map((p) => p.attributes),
    [{ camera: 'a', consumer: 'motion' }, { camera: 'a', consumer: 'detection' }, { camera: 'a', consumer: 'encoder' }, { camera: 'b', consumer: 'motion' }],
  )
  const decode = points(SampleMetric.decodeDuration) as { attributes: Record<string, unknown>; value: { count: number; buckets: { counts: number[] } } }[]
  t.strictSame(decode.map((p) => [p.attributes, p.value.count, p.value.buckets.counts]), [[{ camera: 'a' }, 3, [1, 1, 1, 0]], [{ camera: 'b' }, 1, [0, 0, 1, 0]]])
  t.strictSame(points(SampleMetric.loopTickInterval).map((p) => p.attributes), [{}], 'the global registry\'s points carry no camera')
  t.throws(() => new RegistryMetricProducer([...sampleCameraSource(), { registry: MetricsRegistry.create(sampleCameraCatalogue()), labels: { camera: 'a' } }]), { code: 'METRIC_ATTRIBUTES' }, 'a duplicate camera fails at start')
})

t.test('several cameras are pushed over OTLP/HTTP as one metric per name', async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  const otlp = startOtlpMetrics(sampleCameraSource(), { url: `${receiver.url}/v1/metrics`, intervalMs: 60_000, histogramBounds: [1, 5, 10] })
  t.teardown(() => otlp.shutdown())
  await otlp.forceFlush()
  const body = receiver.metrics.at(-1)! as { resourceMetrics: { scopeMetrics: { metrics: JsonMetric[] }[] }[] }
  const metrics = body.resourceMetrics[0]!.scopeMetrics.flatMap((s) => s.metrics)
  t.equal(metrics.filter((m) => m.name === SampleMetric.framesPublished).length, 1, 'one metric')
  const published = metrics.find((m) => m.name === SampleMetric.framesPublished)!.sum!.dataPoints
  t.strictSame(published.map((p) => [decodeAttributes(p.attributes as never)['camera'], Number(p.asInt)]), [['a', 10], ['b', 20]])
  const decode = metrics.find((m) => m.name === SampleMetric.decodeDuration)!.histogram!.dataPoints
  t.strictSame(decode.map((p) => [decodeAttributes(p.attributes as never)['camera'], Number(p.count)]), [['a', 3], ['b', 1]])
  const tick = metrics.find((m) => m.name === SampleMetric.loopTickInterval)!.histogram!.dataPoints
  t.strictSame(tick.map((p) => decodeAttributes(p.attributes as never)), [{}])
})
