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
  bad('yes', /heart\.yaml: telemetry: got a string, expected an object/)
  bad({ enable: true }, /telemetry\.enable: unknown setting; known: enabled, otlp, traces, upkeepMs/)
  bad({ traces: { exportDelayMs: 5 } }, /traces\.exportDelayMs: got 5, expected a whole number from 100 to 60000/)
  bad({ traces: { sampleEvery: 0 } }, /telemetry\.traces\.sampleEvery: got 0, expected a whole number from 1 to 1000000/)
  bad({ traces: { sampleEvery: 1.5 } }, /sampleEvery: got 1\.5, expected a whole number/)
  bad({ otlp: { endpoint: 'collector:4318' } }, /otlp\.endpoint: got collector:\/\/, expected an http:\/\/ or https:\/\/ URL/)
  bad({ otlp: { endpoint: 'not a url' } }, /otlp\.endpoint: got a string that is not a URL, expected the base URL of an OTLP\/HTTP receiver/)
  bad({ otlp: { endpoint: 'https://user:secret@gateway.example.net/otlp' } }, /otlp\.endpoint: got a URL with credentials: a URL must not carry credentials; put them in telemetry\.otlp\.headers/)
  bad({ otlp: { headers: { Authorization: 42 } } }, /otlp\.headers\.Authorization: got 42, expected a string/)
  bad({ enabled: 'no' }, /telemetry\.enabled: got a string, expected true or false/)
  bad({ upkeepMs: 10 }, /upkeepMs: got 10, expected a whole number from 50 to 60000/)
})

t.test('every problem of the section at once', async (t) => {
  t.throws(() => parseTelemetryConfig({ upkeepMs: 10, traces: { sampleEvery: 0 }, enable: true }), {
    message: /^(?=.*telemetry\.enable: unknown setting)(?=.*telemetry\.traces\.sampleEvery: got 0)(?=.*telemetry\.upkeepMs: got 10)/s,
  })
})

t.test('a secret never appears in an error message', async (t) => {
  try {
    parseTelemetryConfig({ otlp: { endpoint: 'https://user:hunter2@gateway.example.net', headers: { Authorization: ['hunter2'] } } })
    t.fail('should throw')
  } catch (err) {
    t.notMatch((err as Error).message, /hunter2/)
  }
})
