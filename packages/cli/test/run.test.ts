// heart run end to end on synthetic://: a real capture worker drawing 60 fps
// frames into the ring, four consumer workers reading every pixel, the HTTP
// endpoints, AI-lock, and the summary file.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runHeart } from '../src/index.js'
import { silentLogger } from '@heart/kernel'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('synthetic camera, four verifying consumers, health, AI-lock and summary', async (t) => {
  const dir = t.testdir({
    'heart.yaml': [
      'source: "synthetic://?size=640x360&fps=60"',
      'http: { port: 0 }',
      'consumers:',
      '  - { name: verify_a, kind: verify, depth: 16 }',
      '  - { name: verify_b, kind: verify, depth: 16 }',
      '  - { name: verify_c, kind: verify, depth: 16 }',
      '  - { name: detector_like, kind: verify, depth: 16, skipAiLocked: true }',
      '',
    ].join('\n'),
  })
  const summaryFile = join(dir, 'summary.json')
  const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), summaryFile, status: false, logger: silentLogger })
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await heart.stop()
  })
  const reports: Array<{ consumer: string; frames: number; badFrames: number; sequenceBreaks: number; final?: boolean }> = []
  heart.kernel.on('verify.report', (e) => reports.push(e.payload as never))
  const base = `http://127.0.0.1:${heart.http.port}`

  // Wait for frames to flow.
  for (let i = 0; i < 400 && (heart.report().camera.frames_per_s < 30 || Object.keys(heart.report().consumers).length < 4); i++) await sleep(50)
  const health = (await (await fetch(`${base}/health`)).json()) as Record<string, any>
  t.match(health, { camera: { state: 'streaming', backend: 'synthetic' }, loop: {} })
  t.ok(['green', 'yellow'].includes(health.status), `status ${health.status}`)
  t.same(Object.keys(health.consumers).sort(), ['detector_like', 'verify_a', 'verify_b', 'verify_c'])
  for (const key of ['frames_per_s', 'decode_ms_p50', 'decode_ms_p99', 'decode_ms_first_frame', 'last_frame_age_ms', 'reopens_total', 'decode_errors_total', 'backend', 'ai_locked']) {
    t.ok(key in health.camera, `camera.${key} present`)
  }
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /heart_frames_published/, 'Prometheus metrics are served')

  // AI-lock: the consumer that skips locked frames loses them, counted; the others do not.
  t.equal((await fetch(`${base}/camera/down`, { method: 'POST' })).status, 200)
  await sleep(400)
  t.equal(heart.report().camera.ai_locked, true)
  t.equal((await fetch(`${base}/camera/up`, { method: 'POST' })).status, 200)
  await sleep(400)

  const summary = await heart.stop()
  stopped = true
  t.same(JSON.parse(readFileSync(summaryFile, 'utf8')).published, summary.published, 'the summary file is written')
  for (const key of ['duration_s', 'published', 'health', 'consumers', 'loop', 'latency_ms', 'rss_mb']) t.ok(key in summary, `summary.${key}`)
  t.ok(summary.published > 60, `published ${summary.published} frames`)
  t.ok(summary.latency_ms.receive_to_publish.p99 !== null && summary.latency_ms.publish_to_consume.p99 !== null)

  const finals = reports.filter((r) => r.final)
  t.equal(finals.length, 4, 'every consumer reported on stop')
  for (const r of finals) {
    t.equal(r.badFrames, 0, `${r.consumer}: every frame intact, row by row`)
    t.equal(r.sequenceBreaks, 0, `${r.consumer}: no frame skipped or repeated`)
  }
  for (const [name, c] of Object.entries(summary.health.consumers)) {
    const dropped = Object.values(c.dropped).reduce((a, b) => a + b, 0)
    t.equal(c.lag, 0, `${name}: drained before the summary`)
    t.equal(c.delivered + dropped, c.published, `${name}: delivered + dropped = published`)
    if (name === 'detector_like') t.ok(c.dropped.ai_locked! > 0, 'AI-locked frames were skipped and counted')
    else t.equal(dropped, 0, `${name}: no drops`)
  }
})
