import t from 'tap'
import { FRAME_DROP_METRIC_REASONS } from '@heart/contracts'
import { MetricsRegistry } from '@heart/telemetry'
import { KernelMetric, MS_HISTOGRAM, frameLatencyMetric, kernelMetrics } from '../src/index.js'

t.test('the kernel declares what MetricsUpkeep, the tick loop and serveConsumer record', async (t) => {
  const catalogue = kernelMetrics({ consumers: ['motion', 'encoder'], threads: ['main', 'motion'] })
  const r = MetricsRegistry.create(catalogue)
  for (const name of Object.values(KernelMetric)) t.ok(r.declaration(name), name)
  const dropped = r.declaration(KernelMetric.framesDropped)!
  t.strictSame(dropped.attributes, { consumer: ['motion', 'encoder', 'producer'], reason: FRAME_DROP_METRIC_REASONS }, 'every ring reason, for every consumer and the producer')
  t.strictSame(r.declaration(KernelMetric.frameLatency)!.attributes, { stage: ['publish_to_consume'] }, 'the one stage the kernel measures')
  t.same(r.declaration(KernelMetric.loopTickInterval)!.histogram, MS_HISTOGRAM)
  t.strictSame(kernelMetrics({ consumers: ['producer'] }).find((d) => d.name === KernelMetric.framesDropped)!.attributes!['consumer'], ['producer'], 'producer is not listed twice')
})

t.test('a camera-only catalogue (no consumers) builds, and counts producer drops', async (t) => {
  const registry = MetricsRegistry.create(kernelMetrics({ consumers: [] }))
  registry.counter(KernelMetric.framesDropped, { consumer: 'producer', reason: 'no_slot' }).add(1)
  t.equal(registry.counter(KernelMetric.framesDropped, { consumer: 'producer', reason: 'no_slot' }).value(), 1)
  t.throws(() => registry.counter(KernelMetric.framesDelivered, { consumer: 'motion' }), /no metric named/, 'no per-consumer series without consumers')
  t.throws(() => registry.gauge(KernelMetric.consumerLag, { consumer: 'motion' }), /no metric named/)
})

t.test('frameLatencyMetric declares heart.frame.latency alike for every stage list', async (t) => {
  const a = frameLatencyMetric(['receive_to_decode'])
  const b = frameLatencyMetric(['publish_to_consume'])
  t.equal(a.name, KernelMetric.frameLatency)
  t.strictSame({ ...a, attributes: undefined }, { ...b, attributes: undefined }, 'only the stages differ')
  t.strictSame(a.attributes, { stage: ['receive_to_decode'] })
})
