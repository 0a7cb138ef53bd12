import t from 'tap'
import { createServer } from 'node:http'
import { existsSync, readFileSync } from 'node:fs'
import { MetricsRegistry, dashboardQueries, prometheusRoute, renderPrometheus, toPromQl, type MetricDeclaration } from '@heart/telemetry'
import { startPrometheus } from '@heart/telemetry/testing'
import { defaultConsumers } from '../src/config.js'
import { HeartMetric, heartMetricsCatalogue } from '../src/metrics-catalogue.js'

// dist/test -> the package's sources and the repository root
const contractFile = new URL('../../test/fixtures/metrics-contract.json', import.meta.url)
const dashboardFile = new URL('../../../../docs/grafana/heart.json', import.meta.url)

t.test('the joined catalogue keeps every name, label, unit, bucket and help text of the contract', async (t) => {
  // metrics-contract.json is what heart exported before its packages declared their own metrics:
  // dashboards, alerts and tests read these names, so no declaration may change. A new metric extends
  // the contract without touching it; a changed one fails here.
  const contract = JSON.parse(readFileSync(contractFile, 'utf8')) as MetricDeclaration[]
  const joined = heartMetricsCatalogue({ consumers: ['motion', 'detection', 'encoder'], thermal: true })
  const declared = new Map(joined.map((d) => [d.name, JSON.parse(JSON.stringify(d)) as MetricDeclaration]))
  t.ok(contract.length >= 16, `${contract.length} metrics in the contract`)
  for (const d of contract) t.strictSame(declared.get(d.name), d, d.name)
  const stages = joined.find((d) => d.name === HeartMetric.frameLatency)?.attributes?.['stage']
  t.strictSame(stages, ['receive_to_decode', 'receive_to_publish', 'publish_to_consume'], 'capture stages, then the kernel one, in journey order')
})

t.test('the heart catalogue lays out and names every metric of the brief', async (t) => {
  const catalogue = heartMetricsCatalogue({ consumers: ['motion', 'detection'], thermal: true, recording: ['main'] })
  const r = MetricsRegistry.create(catalogue)
  for (const name of Object.values(HeartMetric)) t.ok(r.declaration(name), name)
  r.counter(HeartMetric.framesDropped, { consumer: 'producer', reason: 'no_slot' }).add()
  r.histogram(HeartMetric.frameLatency, { stage: 'receive_to_publish' }).record(12)
  r.counter(HeartMetric.thermalLost, { reason: 'bus_error' }).add()
  r.counter(HeartMetric.thermalLost, { reason: 'overwritten' }).add()
  t.ok(r.buffer.byteLength < 64 * 1024, `whole registry is ${r.buffer.byteLength} bytes`)
  const others = heartMetricsCatalogue({ consumers: ['motion', 'detection', 'encoder'], thermal: true })
  t.not(MetricsRegistry.create(others).catalogueHash, r.catalogueHash, 'other consumers, other layout')
  // Survives structured clone, as when it travels to a worker in its config.
  t.equal(MetricsRegistry.attach(r.buffer, structuredClone(catalogue)).catalogueHash, r.catalogueHash)
})

t.test('a run without consumers or thermal declares none of their series', async (t) => {
  const registry = MetricsRegistry.create(heartMetricsCatalogue({ consumers: [], thermal: false }))
  registry.counter(HeartMetric.framesDropped, { consumer: 'producer', reason: 'no_slot' }).add(1)
  t.equal(registry.counter(HeartMetric.framesDropped, { consumer: 'producer', reason: 'no_slot' }).value(), 1)
  t.throws(() => registry.counter(HeartMetric.framesDelivered, { consumer: 'motion' }), /no metric named/, 'no per-consumer series without consumers')
  t.throws(() => registry.counter(HeartMetric.thermalFrames), /no metric named/, 'no thermal series without the thermal worker')
  t.ok(registry.declaration(HeartMetric.framesPublished), 'the camera metrics are there')
})

t.test('the recorder series: a camera label on each, drops by reason, none declared without recording', async (t) => {
  const catalogue = heartMetricsCatalogue({ consumers: [], thermal: false, recording: ['main'] })
  const recorder = catalogue.filter((d) => d.name.startsWith('heart.recorder.'))
  t.strictSame(recorder.map((d) => [d.name, d.kind, d.unit]), [
    ['heart.recorder.frames', 'counter', '{frame}'],
    ['heart.recorder.bytes', 'counter', 'By'],
    ['heart.recorder.dropped', 'counter', '{packet}'],
    ['heart.recorder.segments', 'counter', '{segment}'],
    ['heart.recorder.paused', 'gauge', '{state}'],
  ])
  for (const d of recorder) t.strictSame(d.attributes?.['camera'], ['main'], `${d.name} has camera="main"`)
  t.strictSame(recorder.find((d) => d.name === HeartMetric.recorderDropped)?.attributes?.['reason'], ['recorder_slow', 'recorder_paused'])
  const registry = MetricsRegistry.create(catalogue)
  registry.counter(HeartMetric.recorderBytes, { camera: 'main' }).add(1000)
  registry.counter(HeartMetric.recorderDropped, { camera: 'main', reason: 'recorder_slow' }).add(2)
  const text = renderPrometheus(registry)
  t.match(text, /heart_recorder_bytes_total\{camera="main"\} 1000/, 'bytes on /metrics, per camera')
  t.match(text, /heart_recorder_dropped_total\{camera="main",reason="recorder_slow"\} 2/)
  t.match(text, /heart_recorder_paused\{camera="main"\} 0/, 'the gauge is a plain 0/1')
  const without = MetricsRegistry.create(heartMetricsCatalogue({ consumers: [], thermal: false }))
  t.throws(() => without.counter(HeartMetric.recorderFrames, { camera: 'main' }), /no metric named/, 'no recorder series when nothing records')
})

t.test('the shipped dashboard has the panels the operator docs promise', async (t) => {
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8'))
  const queries = dashboardQueries(dashboard)
  t.ok(queries.length >= 15, `${queries.length} queries`)
  const all = queries.map((q) => q.expr).join('\n')
  for (const metric of [
    'heart_frames_published_total',
    'heart_frames_delivered_total',
    'heart_frames_dropped_total',
    'heart_frame_latency_seconds_bucket',
    'heart_decode_duration_seconds_bucket',
    'heart_decode_errors_total',
    'heart_loop_tick_interval_seconds_bucket',
    'heart_ring_occupancy_ratio',
    'heart_camera_reopens_total',
    'heart_thermal_frames_total',
    'heart_thermal_lost_total',
  ]) {
    t.ok(all.includes(metric), metric)
  }
  const ids = new Set<number>()
  const walk = (panels: { id: number; panels?: unknown[] }[]): void => {
    for (const p of panels) {
      t.notOk(ids.has(p.id), `panel id ${p.id} is unique`)
      ids.add(p.id)
      if (p.panels) walk(p.panels as { id: number }[])
    }
  }
  walk(dashboard.panels)
})

t.test('every dashboard query runs on a real Prometheus and returns series', { skip: !existsSync('/usr/bin/prometheus') && 'needs /usr/bin/prometheus' }, async (t) => {
  // The catalogue of a run with the default consumers and the thermal emulator.
  const consumers = defaultConsumers().map((c) => c.name)
  const registry = MetricsRegistry.create(heartMetricsCatalogue({ consumers, thermal: true }))
  const route = prometheusRoute(registry)
  const server = createServer((req, res) => (req.url === route.path ? void route.handle(req, res) : res.writeHead(404).end()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0

  // A few seconds of synthetic 60 FPS running, with every fault the dashboard shows.
  const published = registry.counter(HeartMetric.framesPublished)
  const delivered = consumers.map((c) => registry.counter(HeartMetric.framesDelivered, { consumer: c }))
  const slow = registry.counter(HeartMetric.framesDropped, { consumer: consumers[1]!, reason: 'slow' })
  const latency = ['receive_to_decode', 'receive_to_publish', 'publish_to_consume'].map((stage) => registry.histogram(HeartMetric.frameLatency, { stage }))
  const decode = registry.histogram(HeartMetric.decodeDuration)
  const tick = registry.histogram(HeartMetric.loopTickInterval)
  const work = registry.histogram(HeartMetric.loopTickDuration)
  const thermal = registry.counter(HeartMetric.thermalFrames)
  const thermalLost = registry.counter(HeartMetric.thermalLost, { reason: 'bus_error' })
  const simulate = (): void => {
    for (let i = 0; i < 6; i++) {
      published.add()
      for (const d of delivered) d.add()
      for (const h of latency) h.record(5 + i)
      decode.record(3 + i / 10)
      tick.record(16 + i / 10)
      work.record(1 + i / 10)
    }
    slow.add()
    thermal.add()
    if (Math.random() < 0.2) thermalLost.add()
    registry.counter(HeartMetric.decodeErrors).add()
    registry.counter(HeartMetric.cameraReopens).add()
    registry.gauge(HeartMetric.ringOccupancy).set(0.25)
    registry.gauge(HeartMetric.cameraLastFrameAge).set(16)
    registry.gauge(HeartMetric.cameraAiLocked).set(0)
    registry.gauge(HeartMetric.consumerLag, { consumer: consumers[0]! }).set(1)
  }
  const timer = setInterval(simulate, 100)
  t.teardown(() => clearInterval(timer))

  const prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`] })
  t.teardown(() => prometheus.stop())
  // Enough scrapes (1 s apart) for rate() over a 10 s window.
  await prometheus.waitFor('count_over_time(heart_frames_published_total[10s])', (r) => Number(r[0]?.value[1]) >= 4, 30_000)

  const queries = dashboardQueries(JSON.parse(readFileSync(dashboardFile, 'utf8')))
  for (const q of queries) {
    const promql = toPromQl(q.expr, { rateInterval: '10s', range: '10s', variables: { job: 'heart' } })
    let result: Awaited<ReturnType<typeof prometheus.query>>
    try {
      result = await prometheus.query(promql)
    } catch (err) {
      t.fail(`${q.panelTitle} ${q.refId}: ${(err as Error).message}`)
      continue
    }
    const values = result.map((r) => Number(r.value[1]))
    t.ok(result.length > 0 && values.every((v) => Number.isFinite(v)), `${q.panelTitle} ${q.refId} returns finite series: ${promql} -> ${JSON.stringify(values)}`)
  }
})
