// An unreachable collector: one warning per exporter (with the endpoint and
// no secret), one line when it works again, and a stop that never waits on
// it. No timing is asserted beyond "it finished at all": the exporters here
// either fail at once or never answer.
import t from 'tap'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace'
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { ExportHealth, exportFailure, loggableEndpoint, OTLP_EXPORT_TIMEOUT_MS, type ExportLog } from '../src/otlp-export.js'
import { startOtlpMetrics } from '../src/otel-metrics.js'
import { startTracing } from '../src/tracing.js'
import { MetricsRegistry } from '../src/registry.js'
import { sampleCatalogue, SampleMetric } from './fixtures/sample-catalogue.js'

interface Line {
  level: 'warn' | 'info'
  msg: string
  fields: Record<string, unknown>
}

function recordingLog(): { log: ExportLog; lines: Line[] } {
  const lines: Line[] = []
  return {
    lines,
    log: {
      warn: (msg, fields) => lines.push({ level: 'warn', msg, fields: fields ?? {} }),
      info: (msg, fields) => lines.push({ level: 'info', msg, fields: fields ?? {} }),
    },
  }
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4318'), { code: 'ECONNREFUSED' })

t.test('failing exports warn once; a success says once that it works again; a new outage warns again', async (t) => {
  const { log, lines } = recordingLog()
  const health = new ExportHealth({ signal: 'metrics', url: 'http://127.0.0.1:4318/v1/metrics', log })
  for (let i = 0; i < 5; i++) health.failed(refused)
  t.equal(lines.length, 1, 'five failed exports, one line')
  t.equal(lines[0]!.level, 'warn')
  t.match(lines[0]!.msg, /OTLP metrics export to http:\/\/127\.0\.0\.1:4318\/v1\/metrics failed \(ECONNREFUSED\)/, 'says what failed, where and why')
  t.match(lines[0]!.msg, /telemetry\.otlp\.endpoint/, 'says which config key to check')
  t.match(lines[0]!.msg, /collector is running and reachable/, 'says what to check')
  t.same(lines[0]!.fields, { signal: 'metrics', endpoint: 'http://127.0.0.1:4318/v1/metrics', error: 'ECONNREFUSED' })
  t.ok(health.isFailing)

  for (let i = 0; i < 3; i++) health.succeeded()
  t.equal(lines.length, 2, 'three good exports, one line')
  t.equal(lines[1]!.level, 'info')
  t.match(lines[1]!.msg, /OTLP metrics export works again/)
  t.notOk(health.isFailing)

  health.failed(refused)
  health.failed(refused)
  t.equal(lines.length, 3, 'the next outage is told once too')
  t.equal(lines[2]!.level, 'warn')
})

t.test('a success before any failure logs nothing', async (t) => {
  const { log, lines } = recordingLog()
  const health = new ExportHealth({ signal: 'metrics', url: 'http://127.0.0.1:4318/v1/metrics', log })
  health.succeeded()
  t.same(lines, [])
})

t.test('the warning never carries credentials: no user info, no query, header names only', async (t) => {
  const { log, lines } = recordingLog()
  const url = 'https://instance:p%40ss word@otlp.example:443/otlp/v1/traces?api_key=qs-secret#frag'
  const health = new ExportHealth({ signal: 'traces (capture thread)', url, headers: { Authorization: 'Basic aGVhcnQ6dG9rZW4=', 'X-Scope-OrgID': 'tenant-secret' }, log })
  health.failed(new Error('boom'))
  const text = JSON.stringify(lines)
  for (const secret of ['instance', 'p%40ss', 'ss word', 'qs-secret', 'api_key', 'aGVhcnQ6dG9rZW4=', 'tenant-secret', 'frag']) {
    t.notOk(text.includes(secret), `${secret} is not logged`)
  }
  t.equal(lines[0]!.fields['endpoint'], 'https://otlp.example/otlp/v1/traces')
  t.same(lines[0]!.fields['headers'], ['Authorization', 'X-Scope-OrgID'], 'which headers were sent, so a missing token shows')
  t.equal(loggableEndpoint('not a url'), '(not a URL)')
})

t.test('why an export failed, in a few words', async (t) => {
  t.equal(exportFailure(refused), 'ECONNREFUSED')
  t.equal(exportFailure(Object.assign(new Error('Unauthorized'), { code: 401, data: 'body with secret' })), 'HTTP 401 Unauthorized', 'the status, never the response body')
  t.equal(exportFailure(new Error('Request timed out')), `no answer within ${OTLP_EXPORT_TIMEOUT_MS} ms`)
  t.equal(exportFailure(undefined), 'unknown error')
  t.equal(exportFailure(new Error('x'.repeat(1000))).length, 200, 'cut short')
})

/** A metrics exporter that answers every export with `result()`, counting calls. */
function scriptedMetricExporter(result: () => ExportResult | null): PushMetricExporter & { calls: number } {
  const exporter = {
    calls: 0,
    export(_metrics: ResourceMetrics, done: (r: ExportResult) => void) {
      exporter.calls++
      const r = result()
      // null: the collector took the request and never answers.
      if (r !== null) done(r)
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  }
  return exporter
}

t.test('OTLP metrics: one warning over many failed pushes, one line on recovery, no push at stop while down', async (t) => {
  const { log, lines } = recordingLog()
  let up = false
  const exporter = scriptedMetricExporter(() => (up ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: refused }))
  const registry = MetricsRegistry.create(sampleCatalogue())
  registry.counter(SampleMetric.framesPublished).add(1)
  const otlp = startOtlpMetrics(registry, { url: 'http://127.0.0.1:9/v1/metrics', intervalMs: 60_000, exporter, log })
  for (let i = 0; i < 4; i++) await otlp.forceFlush().catch(() => undefined)
  t.equal(exporter.calls, 4, 'every push was tried')
  t.equal(lines.filter((l) => l.level === 'warn').length, 1, 'one warning')
  t.ok(otlp.failing)
  up = true
  await otlp.forceFlush()
  await otlp.forceFlush()
  t.same(
    lines.map((l) => l.level),
    ['warn', 'info'],
    'then one recovery line',
  )
  up = false
  await otlp.forceFlush().catch(() => undefined)
  const before = exporter.calls
  await otlp.shutdown()
  t.equal(exporter.calls, before, 'the collector was down: the last push is not even tried')
})

t.test('OTLP metrics: a collector that never answers cannot hold shutdown', async (t) => {
  const exporter = scriptedMetricExporter(() => null)
  const registry = MetricsRegistry.create(sampleCatalogue())
  registry.counter(SampleMetric.framesPublished).add(1)
  const otlp = startOtlpMetrics(registry, { url: 'http://127.0.0.1:9/v1/metrics', intervalMs: 60_000, exporter, log: recordingLog().log })
  const outcome = await Promise.race([otlp.shutdown().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting after 10 s'), 10_000).unref())])
  t.equal(outcome, 'stopped')
  t.ok(exporter.calls >= 1, 'the last push was tried (the collector was not known to be down)')
})

/** A span exporter that never calls back: a collector that accepted the connection and went quiet. */
function silentSpanExporter(): SpanExporter & { calls: number } {
  const exporter = {
    calls: 0,
    export(_spans: ReadableSpan[], _done: (r: ExportResult) => void) {
      exporter.calls++
    },
    shutdown: async () => undefined,
  }
  return exporter
}

t.test('tracing: a collector that never answers cannot hold shutdown', async (t) => {
  const exporter = silentSpanExporter()
  const tracing = startTracing({ exporter, scheduledDelayMillis: 60_000, log: recordingLog().log })
  tracing.tracer.startSpan('frame').end()
  const outcome = await Promise.race([tracing.shutdown().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting after 10 s'), 10_000).unref())])
  t.equal(outcome, 'stopped')
  t.equal(exporter.calls, 1, 'the batched span was offered once')
})

t.test('tracing: failures warn once, naming the thread; spans are not offered at stop while the collector is down', async (t) => {
  const { log, lines } = recordingLog()
  const inner = new InMemorySpanExporter()
  let calls = 0
  const failing: SpanExporter = {
    export: (_spans, done) => {
      calls++
      done({ code: ExportResultCode.FAILED, error: refused })
    },
    shutdown: () => inner.shutdown(),
  }
  const tracing = startTracing({ exporter: failing, threadName: 'capture', scheduledDelayMillis: 60_000, log, url: 'http://127.0.0.1:9/v1/traces' })
  for (let i = 0; i < 3; i++) {
    tracing.tracer.startSpan('frame').end()
    await tracing.forceFlush().catch(() => undefined)
  }
  t.equal(calls, 3)
  t.equal(lines.length, 1, 'one warning for three failed exports')
  t.match(lines[0]!.msg, /OTLP traces \(capture thread\) export to http:\/\/127\.0\.0\.1:9\/v1\/traces failed \(ECONNREFUSED\)/)
  tracing.tracer.startSpan('frame').end()
  await tracing.shutdown()
  t.equal(calls, 3, 'the span batched at stop was not sent to a collector known to be down')
})
