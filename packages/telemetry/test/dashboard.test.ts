import t from 'tap'
import { createServer } from 'node:http'
import { existsSync, readFileSync } from 'node:fs'
import { dashboardQueries, toPromQl } from '../src/dashboard.js'
import { MetricsRegistry } from '../src/registry.js'
import { prometheusRoute } from '../src/prometheus.js'
import { startPrometheus } from '../src/testing/prometheus-server.js'
import { SampleMetric, sampleCameraCatalogue, sampleGlobalCatalogue } from './fixtures/sample-catalogue.js'

// heart's shipped dashboard is checked against heart's catalogue in packages/cli/test/metrics-catalogue.test.ts.

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

// dist/test -> the repository root
const dashboardFile = new URL('../../../../docs/grafana/heart.json', import.meta.url)

// Metric families a camera's registry exports (each series with its `camera` label); the rest are the box's.
const PER_CAMERA = /^heart_(frames|frame_latency|decode|camera|ring|consumer|recorder)_/
const SELECTOR = /\b(heart_\w+)\{([^}]*)\}/g

interface Target { expr?: string; legendFormat?: string }
interface Panel { title?: string; targets?: Target[]; panels?: Panel[] }

t.test('the shipped dashboard picks cameras and draws one line per camera on per-camera panels', async (t) => {
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { templating: { list: Record<string, unknown>[] }; panels: Panel[] }
  const variables = dashboard.templating.list
  const names = variables.map((v) => v['name'])
  const camera = variables.find((v) => v['name'] === 'camera')
  t.ok(camera, 'a camera variable')
  t.equal(names.indexOf('camera'), names.indexOf('instance') + 1, 'beside the instance one')
  t.match(camera, { type: 'query', multi: true, includeAll: true, allValue: '.*' }, 'multi-select with All')
  t.match(String((camera!['query'] as { query: string }).query), /^label_values\(heart_frames_published_total\{[^}]*\}, camera\)$/)

  const targets: { panel: string; target: Target }[] = []
  const walk = (panels: Panel[]): void => {
    for (const panel of panels) {
      walk(panel.panels ?? [])
      for (const target of panel.targets ?? []) targets.push({ panel: panel.title ?? '', target })
    }
  }
  walk(dashboard.panels)
  let perCamera = 0
  let global = 0
  for (const { panel, target } of targets) {
    const expr = target.expr ?? ''
    const selectors = [...expr.matchAll(SELECTOR)]
    t.ok(selectors.length > 0, `${panel}: a selector in ${expr}`)
    const cameraSelectors = selectors.filter((s) => PER_CAMERA.test(s[1]!))
    if (cameraSelectors.length === 0) {
      global++
      t.notMatch(expr, /camera/, `${panel}: the box's series are not filtered by camera`)
      continue
    }
    perCamera++
    t.equal(cameraSelectors.length, selectors.length, `${panel}: no box-wide series mixed into a per-camera query`)
    for (const s of cameraSelectors) t.match(s[2], /(^|,)camera=~"\$camera"(,|$)/, `${panel}: ${s[1]} filtered by $camera`)
    t.notMatch(expr, /\b(sum|max|min|avg)\s*\(/, `${panel}: no aggregation that folds the cameras together`)
    for (const by of expr.matchAll(/\bby \(([^)]*)\)/g)) t.ok(by[1]!.split(/,\s*/).includes('camera'), `${panel}: by (${by[1]}) keeps camera`)
    t.match(target.legendFormat, /\{\{camera\}\}/, `${panel}: the legend names the camera`)
  }
  t.ok(perCamera >= 15, `${perCamera} per-camera queries`)
  t.ok(global >= 5, `${global} box-wide queries`)
  t.equal(toPromQl('x{camera=~"$camera"}', { variables: { camera: 'front|rear' } }), 'x{camera=~"front|rear"}', 'a camera selection becomes a regex match')
})

t.test('on a real Prometheus, the per-camera panels answer for the chosen cameras only', { skip: !existsSync('/usr/bin/prometheus') && 'needs /usr/bin/prometheus (Debian: prometheus)' }, async (t) => {
  const global = MetricsRegistry.create(sampleGlobalCatalogue())
  const cameras = { front: MetricsRegistry.create(sampleCameraCatalogue()), rear: MetricsRegistry.create(sampleCameraCatalogue(['motion'])) }
  const route = prometheusRoute([{ registry: global, labels: {} }, ...Object.entries(cameras).map(([camera, registry]) => ({ registry, labels: { camera } }))])
  const server = createServer((req, res) => (req.url === route.path ? void route.handle(req, res) : res.writeHead(404).end()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0

  const simulate = (): void => {
    for (const registry of Object.values(cameras)) {
      registry.counter(SampleMetric.framesPublished).add(6)
      registry.counter(SampleMetric.framesDelivered, { consumer: 'motion' }).add(6)
      registry.counter(SampleMetric.framesDropped, { consumer: 'motion', reason: 'slow' }).add(1)
      registry.counter(SampleMetric.decodeErrors).add(1)
      registry.counter(SampleMetric.cameraReopens).add(1)
      registry.histogram(SampleMetric.frameLatency, { stage: 'receive_to_publish' }).record(5)
      registry.histogram(SampleMetric.decodeDuration).record(3)
      registry.gauge(SampleMetric.cameraLastFrameAge).set(16)
      registry.gauge(SampleMetric.ringOccupancy).set(0.5)
    }
    global.histogram(SampleMetric.loopTickInterval).record(16)
    global.histogram(SampleMetric.loopTickDuration).record(1)
    global.counter(SampleMetric.thermalFrames).add(1)
  }
  simulate()
  const timer = setInterval(simulate, 100)
  t.teardown(() => clearInterval(timer))
  const prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], scrapeIntervalS: 1 })
  t.teardown(() => prometheus.stop())
  await prometheus.waitFor('count_over_time(heart_frames_published_total{camera="rear"}[10s])', (r) => Number(r[0]?.value[1]) >= 4, 30_000)

  for (const q of dashboardQueries(JSON.parse(readFileSync(dashboardFile, 'utf8')))) {
    const perCamera = [...q.expr.matchAll(SELECTOR)].some((s) => PER_CAMERA.test(s[1]!))
    for (const [chosen, expected] of [['rear', ['rear']], ['.*', ['front', 'rear']]] as const) {
      const promql = toPromQl(q.expr, { rateInterval: '10s', range: '10s', variables: { job: 'heart', camera: chosen } })
      const result = await prometheus.query(promql)
      const seen = [...new Set(result.map((r) => r.metric['camera'] ?? ''))].sort()
      t.strictSame(seen, perCamera ? expected : [''], `${q.panelTitle} ${q.refId} with camera=~"${chosen}": ${perCamera ? 'a line per chosen camera' : 'the box\'s series'}`)
    }
  }
})
