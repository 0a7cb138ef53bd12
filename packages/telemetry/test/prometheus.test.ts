import t from 'tap'
import { createServer, type Server } from 'node:http'
import { existsSync } from 'node:fs'
import { MetricsRegistry } from '../src/registry.js'
import { sampleCatalogue, sampleCameraCatalogue, sampleCameraSource, SampleMetric, SAMPLE_DROP_REASONS } from './fixtures/sample-catalogue.js'
import { renderPrometheus, prometheusRoute, PROMETHEUS_CONTENT_TYPE } from '../src/prometheus.js'
import { prometheusNaming } from '../src/naming.js'
import { startPrometheus } from '../src/testing/prometheus-server.js'
import type { Catalogue } from '../src/types.js'

t.test('names follow the OpenTelemetry -> Prometheus rules, ms become seconds', async (t) => {
  const c = (name: string, kind: 'counter' | 'gauge' | 'histogram', unit: string) => prometheusNaming({ name, kind, unit, description: '' })
  t.same(c('heart.frames.published', 'counter', '{frame}'), { name: 'heart_frames_published_total', scale: 1 })
  t.same(c('heart.decode.duration', 'histogram', 'ms'), { name: 'heart_decode_duration_seconds', scale: 1e-3 })
  t.same(c('heart.ring.occupancy', 'gauge', '1'), { name: 'heart_ring_occupancy_ratio', scale: 1 })
  t.same(c('x.wait', 'histogram', 'us'), { name: 'x_wait_seconds', scale: 1e-6 })
  t.same(c('x.bytes', 'counter', 'By'), { name: 'x_bytes_total', scale: 1 })
  t.same(c('x.size_bytes', 'gauge', 'By'), { name: 'x_size_bytes', scale: 1 })
})

t.test('text exposition of counters, gauges and histograms', async (t) => {
  const catalogue: Catalogue = [
    { name: 'test.frames', kind: 'counter', unit: '{frame}', description: 'Frames.\nTwo lines \\ here' },
    { name: 'test.drops', kind: 'counter', unit: '{frame}', description: 'Drops.', attributes: { reason: ['slow', 'we"ird'] } },
    { name: 'test.age', kind: 'gauge', unit: 'ms', description: 'Age.' },
    { name: 'test.wait', kind: 'histogram', unit: 'ms', description: 'Wait.' },
  ]
  const r = MetricsRegistry.create(catalogue)
  r.counter('test.frames').add(7)
  r.counter('test.drops', { reason: 'slow' }).add(2)
  r.gauge('test.age').set(250)
  const h = r.histogram('test.wait')
  for (const v of [0.5, 1.5, 3, 40]) h.record(v)
  const text = renderPrometheus(r, { histogramBounds: [1, 2, 50] })
  t.match(text, '# HELP test_frames_total Frames.\\nTwo lines \\\\ here\n# TYPE test_frames_total counter\ntest_frames_total 7\n')
  t.match(text, 'test_drops_total{reason="slow"} 2\n')
  t.match(text, 'test_drops_total{reason="we\\"ird"} 0\n')
  t.match(text, '# TYPE test_age_seconds gauge\ntest_age_seconds 0.25\n')
  t.match(text, '# TYPE test_wait_seconds histogram\n')
  t.match(text, 'test_wait_seconds_bucket{le="0.001"} 1\ntest_wait_seconds_bucket{le="0.002"} 2\ntest_wait_seconds_bucket{le="0.05"} 4\ntest_wait_seconds_bucket{le="+Inf"} 4\n')
  t.match(text, 'test_wait_seconds_sum 0.045\ntest_wait_seconds_count 4\n')
  t.equal(text.split('# TYPE test_drops_total').length, 2, 'one TYPE line per metric family')
  r.gauge('test.age').set(NaN)
  t.match(renderPrometheus(r), 'test_age_seconds NaN\n')
  r.gauge('test.age').set(Infinity)
  t.match(renderPrometheus(r), 'test_age_seconds +Inf\n')
  r.gauge('test.age').set(-Infinity)
  t.match(renderPrometheus(r), 'test_age_seconds -Inf\n')
})

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address()
      resolve(typeof a === 'object' && a ? a.port : 0)
    }),
  )
}

t.test('a real Prometheus scrapes the /metrics route and answers queries', { skip: !existsSync('/usr/bin/prometheus') && 'needs /usr/bin/prometheus (Debian: prometheus)' }, async (t) => {
  const registry = MetricsRegistry.create(sampleCatalogue())
  const route = prometheusRoute(registry)
  t.equal(route.method, 'GET')
  t.equal(route.path, '/metrics')
  let contentType = ''
  const server = createServer((req, res) => {
    if (req.method === route.method && req.url === route.path) {
      void route.handle(req, res)
      contentType = String(res.getHeader('content-type'))
    } else {
      res.writeHead(404).end()
    }
  })
  const port = await listen(server)
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))

  registry.counter(SampleMetric.framesPublished).add(1234)
  registry.counter(SampleMetric.framesDropped, { consumer: 'detection', reason: 'slow' }).add(5)
  registry.gauge(SampleMetric.ringOccupancy).set(0.375)
  const decode = registry.histogram(SampleMetric.decodeDuration)
  for (let i = 0; i < 1000; i++) decode.record(i < 900 ? 3.7 : 19) // p50 = 3.7 ms, p99 = 19 ms (clear of export bounds)

  const prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`] })
  t.teardown(() => prometheus.stop())
  t.ok(prometheus.pid > 0)

  const up = await prometheus.waitFor('up{job="heart"}', (r) => r[0]?.value[1] === '1')
  t.equal(up[0]?.value[1], '1', `target is up (prometheus log: ${prometheus.logTail()})`)
  t.equal(contentType, PROMETHEUS_CONTENT_TYPE)

  const published = await prometheus.waitFor('heart_frames_published_total', (r) => r.length === 1)
  t.equal(published[0]?.value[1], '1234')
  const dropped = await prometheus.query('heart_frames_dropped_total{consumer="detection",reason="slow"}')
  t.equal(dropped[0]?.value[1], '5')
  const allDrops = await prometheus.query('count(heart_frames_dropped_total)')
  t.equal(allDrops[0]?.value[1], String(4 * SAMPLE_DROP_REASONS.length), `every consumer x reason series exists (3 consumers + producer, ${SAMPLE_DROP_REASONS.length} reasons)`)
  const occupancy = await prometheus.query('heart_ring_occupancy_ratio')
  t.equal(occupancy[0]?.value[1], '0.375')
  const p50 = Number((await prometheus.query('histogram_quantile(0.5, heart_decode_duration_seconds_bucket)'))[0]?.value[1])
  const p99 = Number((await prometheus.query('histogram_quantile(0.99, heart_decode_duration_seconds_bucket)'))[0]?.value[1])
  t.ok(p50 > 0.003 && p50 <= 0.004, `p50 ${p50} s is in the (3 ms, 4 ms] bucket`)
  t.ok(p99 > 0.018 && p99 <= 0.02, `p99 ${p99} s is in the (18 ms, 20 ms] bucket`)
  const count = await prometheus.query('heart_decode_duration_seconds_count')
  t.equal(count[0]?.value[1], '1000')
  const sum = Number((await prometheus.query('heart_decode_duration_seconds_sum'))[0]?.value[1])
  t.ok(Math.abs(sum - (900 * 0.0037 + 100 * 0.019)) < 1e-6, `sum ${sum}`)

  // A later scrape sees new values: rate() over real samples works.
  registry.counter(SampleMetric.framesPublished).add(600)
  const later = await prometheus.waitFor('heart_frames_published_total', (r) => r[0]?.value[1] === '1834')
  t.equal(later[0]?.value[1], '1834')
})

t.test('runtime: the process series and heart_build_info beside heart\'s own', async (t) => {
  const registry = MetricsRegistry.create(sampleCatalogue())
  const route = prometheusRoute(registry, { runtime: { version: '9.8.7' } })
  let body = ''
  const res = { statusCode: 0, setHeader() {}, end: (text: string) => (body = text) }
  await route.handle({} as never, res as never)
  t.match(body, /^heart_build_info\{version="9\.8\.7",node="v\d+\.\d+\.\d+"\} 1$/m)
  t.match(body, /^process_cpu_user_seconds_total \d/m)
  t.match(body, /^process_resident_memory_bytes \d+/m)
  t.match(body, /^nodejs_eventloop_lag_seconds /m)
  t.match(body, /^# TYPE heart_/m, "and heart's own series")
  let plain = ''
  await prometheusRoute(registry).handle({} as never, { statusCode: 0, setHeader() {}, end: (text: string) => (plain = text) } as never)
  t.notMatch(plain, /process_cpu/, 'only when asked for')
})

t.test('several registries: one family per name, each camera\'s series labelled', async (t) => {
  const source = sampleCameraSource()
  const text = renderPrometheus(source, { histogramBounds: [1, 2, 50] })
  const types = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!)
  const helps = text.split('\n').filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2]!)
  t.equal(new Set(types).size, types.length, 'one TYPE line per name')
  t.strictSame(helps, types, 'and one HELP line, just before it')
  t.equal(types.length, sampleCatalogue().length, 'every name of the cameras and of the global registry')
  // Every sample sits in the family of the TYPE line above it: Prometheus rejects a family split in two.
  let family = ''
  const misplaced: string[] = []
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) family = line.split(' ')[2]!
    else if (line !== '' && !line.startsWith('#') && line.slice(0, line.search(/[{ ]/)).replace(/_(bucket|sum|count)$/, '') !== family) misplaced.push(line)
  }
  t.strictSame(misplaced, [], 'every sample under the TYPE line of its family')
  t.match(text, '# TYPE heart_frames_published_total counter\nheart_frames_published_total{camera="a"} 10\nheart_frames_published_total{camera="b"} 20\n')
  t.match(text, 'heart_frames_dropped_total{camera="a",consumer="encoder",reason="slow"} 3\n')
  t.match(text, 'heart_frames_dropped_total{camera="b",consumer="motion",reason="slow"} 4\n')
  t.notMatch(text, 'heart_frames_delivered_total{camera="b",consumer="encoder"}', 'camera b runs no encoder')
  t.match(text, 'heart_ring_occupancy_ratio{camera="a"} 0.25\nheart_ring_occupancy_ratio{camera="b"} 0.75\n')
  t.match(
    text,
    'heart_decode_duration_seconds_bucket{camera="a",le="0.001"} 1\nheart_decode_duration_seconds_bucket{camera="a",le="0.002"} 2\n' +
      'heart_decode_duration_seconds_bucket{camera="a",le="0.05"} 3\nheart_decode_duration_seconds_bucket{camera="a",le="+Inf"} 3\n' +
      'heart_decode_duration_seconds_sum{camera="a"} 0.005\nheart_decode_duration_seconds_count{camera="a"} 3\n',
  )
  t.match(text, 'heart_decode_duration_seconds_bucket{camera="b",le="0.05"} 1\n')
  t.match(text, 'heart_decode_duration_seconds_sum{camera="b"} 0.037\nheart_decode_duration_seconds_count{camera="b"} 1\n')
  t.match(text, 'heart_loop_tick_interval_seconds_bucket{le="+Inf"} 4\n', 'global series carry no camera label')
  t.notMatch(text, /heart_(loop|thermal)_\w+\{camera=/)
})

t.test('added labels are escaped like any label, and a plain registry renders as a list of one', async (t) => {
  const registry = MetricsRegistry.create(sampleCameraCatalogue())
  registry.counter(SampleMetric.framesPublished).add(2)
  t.match(renderPrometheus([{ registry, labels: { camera: 'we"ird\\\nname' } }]), 'heart_frames_published_total{camera="we\\"ird\\\\\\nname"} 2\n')
  t.equal(renderPrometheus(registry), renderPrometheus([{ registry, labels: {} }]))
})

t.test('a source that cannot be exported fails when the route is made', async (t) => {
  const registry = MetricsRegistry.create(sampleCameraCatalogue())
  t.throws(() => prometheusRoute([{ registry, labels: { camera: 'a' } }, { registry, labels: { camera: 'a' } }]), { code: 'METRIC_ATTRIBUTES' })
  t.throws(() => renderPrometheus([{ registry, labels: { le: 'a' } }]), { code: 'METRIC_ATTRIBUTES' })
})

t.test('a real Prometheus scrapes several cameras from one route and selects by camera', { skip: !existsSync('/usr/bin/prometheus') && 'needs /usr/bin/prometheus (Debian: prometheus)' }, async (t) => {
  const source = sampleCameraSource()
  const a = source[1]!.registry
  const route = prometheusRoute(source)
  const server = createServer((req, res) => (req.url === route.path ? void route.handle(req, res) : res.writeHead(404).end()))
  const port = await listen(server)
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`] })
  t.teardown(() => prometheus.stop())

  const published = await prometheus.waitFor('heart_frames_published_total', (r) => r.length === 2)
  t.strictSame(published.map((s) => [s.metric['camera'], s.value[1]]).sort(), [['a', '10'], ['b', '20']], `one series per camera (prometheus log: ${prometheus.logTail()})`)
  const b = await prometheus.query('heart_frames_dropped_total{camera=~"b",reason="slow"}')
  t.strictSame(b.map((s) => [s.metric['consumer'], s.value[1]]).sort(), [['motion', '4'], ['producer', '0']])
  const p50 = await prometheus.query('histogram_quantile(0.5, sum by (le, camera) (heart_decode_duration_seconds_bucket))')
  const byCamera = Object.fromEntries(p50.map((s) => [s.metric['camera'], Number(s.value[1])]))
  t.ok(byCamera['a']! > 0.001 && byCamera['a']! <= 0.002, `camera a p50 ${byCamera['a']} s`)
  t.ok(byCamera['b']! > 0.033 && byCamera['b']! <= 0.04, `camera b p50 ${byCamera['b']} s`)
  const tick = await prometheus.query('heart_loop_tick_interval_seconds_count')
  t.equal(tick.length, 1, 'the global series once')
  t.equal(tick[0]?.metric['camera'], undefined)
  a.counter(SampleMetric.framesPublished).add(5)
  await prometheus.waitFor('heart_frames_published_total{camera="a"}', (r) => r[0]?.value[1] === '15')
  t.pass('a later scrape reads the camera\'s registry live')
})
