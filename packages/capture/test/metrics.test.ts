import t from 'tap'
import { KernelMetric, kernelMetrics } from '@heart/kernel'
import { MetricsRegistry, joinCatalogues } from '@heart/telemetry'
import { CaptureMetric, captureMetrics } from '../src/metrics.js'

t.test('capture declares what its worker records, and its latency stages join the kernel one', async (t) => {
  const r = MetricsRegistry.create(captureMetrics())
  for (const name of Object.values(CaptureMetric)) t.ok(r.declaration(name), name)
  t.strictSame(r.declaration(CaptureMetric.frameLatency)!.attributes, { stage: ['receive_to_decode', 'receive_to_publish'] })
  t.throws(() => r.histogram(CaptureMetric.frameLatency, { stage: 'publish_to_consume' }), /publish_to_consume/, 'the consumer stage is not capture\'s')
  const joined = MetricsRegistry.create(joinCatalogues(captureMetrics(), kernelMetrics({ consumers: ['motion'] })))
  t.strictSame(joined.declaration(KernelMetric.frameLatency)!.attributes, { stage: ['receive_to_decode', 'receive_to_publish', 'publish_to_consume'] }, 'one histogram, every stage')
})
