// A real Prometheus (Debian's) scrapes a running `heart run` every second;
// every PromQL expression of docs/grafana/heart.json then runs through
// Prometheus' HTTP API and must return finite data. Afterwards /metrics and
// /health must give the same books.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { dashboardQueries, toPromQl } from '@heart/telemetry'
import { startPrometheus } from '@heart/telemetry/testing'
import { startTestHeart, waitFor } from './support/heart-run.js'

// dist/ -> repository root
const dashboardFile = new URL('../../docs/grafana/heart.json', import.meta.url)

/** Value of one sample line of Prometheus text, e.g. metric('heart_frames_delivered_total', { consumer: 'a' }). */
function sampleValue(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue
    const matches = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return null
}

t.test('every dashboard query returns data from Prometheus scraping heart run', { skip: !existsSync('/usr/bin/prometheus') && 'needs /usr/bin/prometheus (Debian: prometheus)' }, async (t) => {
  const heart = await startTestHeart({ consumers: ['motion', 'encoder'], telemetry: { upkeepMs: 250 } })
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await heart.stop()
  })
  const prometheus = await startPrometheus({ targets: [`127.0.0.1:${heart.http.port}`], scrapeIntervalS: 1 })
  t.teardown(() => prometheus.stop())

  // Frames flowing first (workers start slowly on a busy machine), then enough 1 s scrapes for rate() over 10 s.
  await waitFor('frames to flow', () => heart.report().camera.frames_per_s > 20, 40_000)
  await prometheus.waitFor('count_over_time(heart_frames_published_total[10s]) and on() (rate(heart_frames_published_total[3s]) > 0)', (r) => r.length > 0, 20_000)
  await prometheus.waitFor('count_over_time(heart_frames_published_total[10s])', (r) => Number(r[0]?.value[1]) >= 5, 40_000)
  const delivered = await prometheus.waitFor('heart_frames_delivered_total', (r) => r.length === 2 && r.every((s) => Number(s.value[1]) > 0), 10_000)
  t.same(delivered.map((s) => s.metric['consumer']).sort(), ['encoder', 'motion'], 'delivered per consumer, copied from the ring books')

  const queries = dashboardQueries(JSON.parse(readFileSync(dashboardFile, 'utf8')))
  t.ok(queries.length >= 15, `${queries.length} dashboard queries`)
  for (const q of queries) {
    const promql = toPromQl(q.expr, { rateInterval: '10s', range: '10s', variables: { job: 'heart' } })
    try {
      const result = await prometheus.query(promql)
      const values = result.map((r) => Number(r.value[1]))
      t.ok(result.length > 0 && values.every((v) => Number.isFinite(v)), `${q.panelTitle} ${q.refId}: ${promql} -> ${JSON.stringify(values)}`)
    } catch (err) {
      t.fail(`${q.panelTitle} ${q.refId}: ${promql} rejected: ${(err as Error).message}`)
    }
  }
  // Figures that must be live, not just present.
  const fps = Number((await prometheus.query('sum(rate(heart_frames_published_total[4s]))'))[0]?.value[1])
  t.ok(fps > 5 && fps < 80, `published rate ${fps.toFixed(1)}/s at a 60 FPS source`)
  const occupancy = await prometheus.query('heart_ring_occupancy_ratio')
  t.equal(occupancy.length, 1, 'ring occupancy is exported')
  const age = Number((await prometheus.query('heart_camera_last_frame_age_seconds'))[0]?.value[1])
  t.ok(age >= 0 && age < 1, `last frame age ${age} s while streaming`)

  // With the camera stopped and consumers drained, the books are still: /metrics and /health must agree exactly.
  await heart.capture.stop()
  await waitFor('consumers to drain', () => Object.values(heart.report().consumers).every((c) => c.lag === 0))
  heart.kernel.metricsUpkeep!.update()
  const health = (await (await fetch(`${heart.base}/health`)).json()) as { consumers: Record<string, { delivered: number; dropped: Record<string, number> }> }
  const text = await (await fetch(`${heart.base}/metrics`)).text()
  for (const name of ['motion', 'encoder']) {
    const books = health.consumers[name]!
    t.equal(sampleValue(text, 'heart_frames_delivered_total', { consumer: name }), books.delivered, `${name}: delivered agrees (${books.delivered})`)
    const slow = books.dropped[`${name}_slow`] ?? 0
    t.equal(sampleValue(text, 'heart_frames_dropped_total', { consumer: name, reason: 'slow' }), slow, `${name}: slow drops agree (${slow})`)
  }
  stopped = true
  await heart.stop()
})
