import t from 'tap'
import { DEFAULT_TELEMETRY_CONFIG, otlpMetricsUrl, otlpTracesUrl, parseTelemetryConfig } from '../src/index.js'

t.test('defaults: enabled, no OTLP, 1 frame in 60', async (t) => {
  const c = parseTelemetryConfig(undefined)
  t.same(c, DEFAULT_TELEMETRY_CONFIG)
  t.same(parseTelemetryConfig({}), DEFAULT_TELEMETRY_CONFIG)
  t.equal(otlpMetricsUrl(c), null)
  t.equal(otlpTracesUrl(c), null)
})

t.test('one endpoint gives both signal URLs; traces.endpoint overrides traces', async (t) => {
  const c = parseTelemetryConfig({ otlp: { endpoint: 'http://alloy:4318', metricsIntervalMs: 1000 }, traces: { sampleEvery: 30 } })
  t.equal(otlpMetricsUrl(c), 'http://alloy:4318/v1/metrics')
  t.equal(otlpTracesUrl(c), 'http://alloy:4318/v1/traces')
  t.equal(c.traces.sampleEvery, 30)
  t.equal(c.otlp.metricsIntervalMs, 1000)
  const cloud = parseTelemetryConfig({
    otlp: { endpoint: 'https://otlp-gateway.example.net/otlp/', headers: { Authorization: 'Basic abc' } },
    traces: { endpoint: 'http://tempo:4318/v1/traces' },
  })
  t.equal(otlpMetricsUrl(cloud), 'https://otlp-gateway.example.net/otlp/v1/metrics')
  t.equal(otlpTracesUrl(cloud), 'http://tempo:4318/v1/traces')
  t.same(cloud.otlp.headers, { Authorization: 'Basic abc' })
})

t.test('enabled: false turns every exporter off', async (t) => {
  const c = parseTelemetryConfig({ enabled: false, otlp: { endpoint: 'http://alloy:4318' } })
  t.equal(c.enabled, false)
  t.equal(otlpMetricsUrl(c), null)
  t.equal(otlpTracesUrl(c), null)
})

t.test('mistakes get a message naming the key and what to do', async (t) => {
  const bad = (input: unknown, re: RegExp): void => {
    t.throws(() => parseTelemetryConfig(input, 'heart.yaml: telemetry'), { code: 'TELEMETRY_CONFIG', message: re })
  }
  bad('yes', /heart\.yaml: telemetry must be an object, got a string/)
  bad({ enable: true }, /telemetry\.enable is not a setting; allowed here: enabled, otlp, traces, upkeepMs/)
  bad({ traces: { exportDelayMs: 5 } }, /traces\.exportDelayMs must be a whole number from 100 to 60000, got 5/)
  bad({ traces: { sampleEvery: 0 } }, /telemetry\.traces\.sampleEvery must be a whole number from 1 to 1000000, got 0/)
  bad({ traces: { sampleEvery: 1.5 } }, /sampleEvery must be a whole number/)
  bad({ otlp: { endpoint: 'collector:4318' } }, /otlp\.endpoint must be an http:\/\/ or https:\/\/ URL/)
  bad({ otlp: { endpoint: 'not a url' } }, /otlp\.endpoint must be the base URL of an OTLP\/HTTP receiver/)
  bad({ otlp: { endpoint: 'https://user:secret@gateway.example.net/otlp' } }, /must not carry credentials; put them in telemetry\.otlp\.headers/)
  bad({ otlp: { headers: { Authorization: 42 } } }, /otlp\.headers\.Authorization must be a string, got 42/)
  bad({ enabled: 'no' }, /telemetry\.enabled must be true or false, got a string/)
  bad({ upkeepMs: 10 }, /upkeepMs must be a whole number from 50 to 60000/)
})

t.test('a secret never appears in an error message', async (t) => {
  try {
    parseTelemetryConfig({ otlp: { endpoint: 'https://user:hunter2@gateway.example.net' } })
    t.fail('should throw')
  } catch (err) {
    t.notMatch((err as Error).message, /hunter2/)
  }
})
