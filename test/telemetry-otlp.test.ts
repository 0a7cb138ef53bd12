// `heart run` exporting to an OTLP/HTTP receiver in this test: sampled
// frames' spans, timed in the capture worker and in each consumer worker,
// must form one tree per frame (same trace id, consume spans under the frame
// span), and the metrics must arrive over OTLP too.
import { hostname } from 'node:os'
import t from 'tap'
import { startOtlpReceiver, type OtlpJson, type ReceivedSpan } from '@heart/telemetry/testing'
import { startTestHeart, sleep, waitFor } from './support/heart-run.js'

const SAMPLE_EVERY = 10
const CONSUMERS = ['motion', 'encoder']

/** Metric names (and data point counts) in the OTLP/JSON metric bodies, per the OTLP data model. */
function metricNames(bodies: OtlpJson[]): Map<string, number> {
  const names = new Map<string, number>()
  for (const body of bodies) {
    for (const rm of (body['resourceMetrics'] ?? []) as { scopeMetrics?: { metrics?: Record<string, any>[] }[] }[]) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const data = m['sum'] ?? m['gauge'] ?? m['histogram']
          names.set(m['name'], (names.get(m['name']) ?? 0) + ((data?.dataPoints as unknown[]) ?? []).length)
        }
      }
    }
  }
  return names
}

function sumValue(bodies: OtlpJson[], name: string, attrs: Record<string, string>): number | null {
  let last: number | null = null
  for (const body of bodies) {
    for (const rm of (body['resourceMetrics'] ?? []) as { scopeMetrics?: { metrics?: Record<string, any>[] }[] }[]) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          if (m['name'] !== name || !m['sum']) continue
          for (const dp of m['sum'].dataPoints as { attributes?: { key: string; value: { stringValue?: string } }[]; asInt?: string | number; asDouble?: number }[]) {
            const ok = Object.entries(attrs).every(([k, v]) => dp.attributes?.some((a) => a.key === k && a.value.stringValue === v))
            if (ok) last = Number(dp.asInt ?? dp.asDouble)
          }
        }
      }
    }
  }
  return last
}

t.test('sampled frames become one span tree across threads; metrics arrive over OTLP', async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  const heart = await startTestHeart({
    consumers: CONSUMERS,
    telemetry: { otlp: { endpoint: receiver.url, metricsIntervalMs: 1000 }, traces: { sampleEvery: SAMPLE_EVERY, exportDelayMs: 500 }, upkeepMs: 250 },
  })
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await heart.stop()
  })

  // A sampled frame is complete once its root and every consumer's span have arrived (threads export on their own).
  const complete = (): ReceivedSpan[] | null => {
    for (const root of receiver.spans.filter((s) => s.name === 'frame')) {
      const tree = receiver.spans.filter((s) => s.traceId === root.traceId)
      if (CONSUMERS.every((c) => tree.some((s) => s.name === `consume ${c}`))) return tree
    }
    return null
  }
  await waitFor('a sampled frame with spans from every consumer', () => complete() !== null, 30_000)
  await waitFor('OTLP metrics with frames delivered', () => (sumValue(receiver.metrics, 'heart.frames.delivered', { consumer: 'motion' }) ?? 0) > 0, 15_000)
  stopped = true
  await heart.stop()
  await sleep(200)

  const tree = complete()!
  const root = tree.find((s) => s.name === 'frame')!
  const seq = root.attributes['heart.frame.seq'] as number
  t.equal(seq % SAMPLE_EVERY, 0, `frame ${seq} is one of 1 in ${SAMPLE_EVERY}`)
  t.equal(root.parentSpanId, '', 'frame is the root')
  t.equal(root.resource['heart.thread'], 'capture', 'the root comes from the capture worker')
  t.equal(root.resource['service.instance.id'], hostname(), 'the box is named: service.instance.id is the host name')
  t.match(root.traceId, /^[0-9a-f]{32}$/, 'trace id is 16 bytes hex (OTLP/JSON)')
  for (const stage of ['receive', 'decode', 'publish']) {
    const span = tree.find((s) => s.name === stage)
    t.ok(span, `${stage} span present`)
    if (!span) continue
    t.equal(span.parentSpanId, root.spanId, `${stage} is a child of frame`)
    t.ok(span.startTimeUnixNano >= root.startTimeUnixNano && span.endTimeUnixNano <= root.endTimeUnixNano, `${stage} lies within frame`)
  }
  const receive = tree.find((s) => s.name === 'receive')!
  const decode = tree.find((s) => s.name === 'decode')!
  const publish = tree.find((s) => s.name === 'publish')!
  t.ok(receive.startTimeUnixNano <= decode.startTimeUnixNano && decode.endTimeUnixNano <= publish.startTimeUnixNano, 'receive, decode, publish in order')
  for (const c of CONSUMERS) {
    const span = tree.find((s) => s.name === `consume ${c}`)!
    t.equal(span.parentSpanId, root.spanId, `consume ${c} is a child of frame (linked through the shared trace table)`)
    // The consumer's thread recorded the timing in the shared consume log; the capture thread exported the span.
    t.equal(span.attributes['heart.thread'], c, `consume ${c} was timed in its own worker thread`)
    t.equal(span.resource['heart.thread'], 'capture', `consume ${c} was exported by the capture thread (one exporter)`)
    t.equal(span.attributes['heart.frame.seq'], seq, `consume ${c} is about the same frame`)
    t.ok(span.startTimeUnixNano >= publish.endTimeUnixNano, `consume ${c} starts after publish`)
  }
  // No unsampled frame was traced.
  const roots = receiver.spans.filter((s) => s.name === 'frame')
  t.ok(roots.length >= 1 && roots.every((s) => (s.attributes['heart.frame.seq'] as number) % SAMPLE_EVERY === 0), `${roots.length} frame traces, all sampled seqs`)
  const consumeSpans = receiver.spans.filter((s) => s.name.startsWith('consume '))
  t.ok(consumeSpans.every((s) => roots.some((r) => r.traceId === s.traceId) || (s.attributes['heart.frame.seq'] as number) % SAMPLE_EVERY === 0), 'every consume span belongs to a sampled frame')

  const names = metricNames(receiver.metrics)
  for (const name of ['heart.frames.published', 'heart.frames.delivered', 'heart.frames.dropped', 'heart.decode.duration', 'heart.frame.latency', 'heart.loop.tick.interval', 'heart.ring.occupancy', 'heart.camera.last_frame_age']) {
    t.ok((names.get(name) ?? 0) > 0, `OTLP carries ${name}`)
  }
  t.ok((sumValue(receiver.metrics, 'heart.frames.published', {}) ?? 0) > 0, 'published frames counted in OTLP')
})
