import t from 'tap'
import { createServer } from 'node:http'
import { existsSync, readFileSync } from 'node:fs'
import { dashboardQueries, toPromQl } from '../src/dashboard.js'
import { MetricsRegistry } from '../src/registry.js'
import { heartCatalogue, HeartMetric, DEFAULT_CONSUMERS } from '../src/heart-catalogue.js'
import { prometheusRoute } from '../src/prometheus.js'
import { startPrometheus } from '../src/testing/prometheus-server.js'

// dist/test -> repository root
const dashboardFile = new URL('../../../../docs/grafana/heart.json', import.meta.url)

t.test('extracts targets from nested rows and substitutes Grafana variables', async (t) => {
  const queries = dashboardQueries({
    panels: [
      { id: 1, title: 'a', targets: [{ refId: 'A', expr: 'rate(x{job=~"$job"}[$__rate_interval])' }, { refId: 'B', expr: 'y', hide: true }] },
      { id: 2, type: 'row', title: 'r', panels: [{ id: 3, title: 'b', targets: [{ refId: 'A', expr: 'z{i="${instance}"}[$__range] [[job]]' }, { refId: 'B' }] }] },
    ],
  })
  t.same(queries.map((q) => [q.panelId, q.refId]), [[1, 'A'], [3, 'A']])
  t.equal(toPromQl(queries[0]!.expr, { variables: { job: 'heart' } }), 'rate(x{job=~"heart"}[1m])')
  t.equal(toPromQl(queries[1]!.expr, { range: '1h', variables: { job: 'j' } }), 'z{i=".*"}[1h] j')
  t.equal(toPromQl('rate(a[$__interval])', { interval: '5s' }), 'rate(a[5s])')
  t.throws(() => dashboardQueries({ title: 'x' }), /not a Grafana dashboard/)
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
  const registry = MetricsRegistry.create(heartCatalogue())
  const route = prometheusRoute(registry)
  const server = createServer((req, res) => (req.url === route.path ? void route.handle(req, res) : res.writeHead(404).end()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0

  // A few seconds of synthetic 60 FPS running, with every fault the dashboard shows.
  const published = registry.counter(HeartMetric.framesPublished)
  const delivered = DEFAULT_CONSUMERS.map((c) => registry.counter(HeartMetric.framesDelivered, { consumer: c }))
  const slow = registry.counter(HeartMetric.framesDropped, { consumer: 'detection', reason: 'slow' })
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
    registry.gauge(HeartMetric.consumerLag, { consumer: 'motion' }).set(1)
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
