// heart run end to end on synthetic://: a real capture worker drawing 60 fps
// frames into the ring, four consumer workers reading every pixel, the HTTP
// endpoints, AI-lock, and the summary file.
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
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
  for (let i = 0; i < 1200 && (heart.report().camera.frames_per_s < 30 || Object.keys(heart.report().consumers).length < 4); i++) await sleep(50)
  const health = (await (await fetch(`${base}/health`)).json()) as Record<string, any>
  t.match(health, { camera: { state: 'streaming', backend: 'synthetic' }, loop: {} })
  t.ok(['green', 'yellow'].includes(health.status), `status ${health.status}`)
  t.same(Object.keys(health.consumers).sort(), ['detector_like', 'verify_a', 'verify_b', 'verify_c'])
  for (const key of ['frames_per_s', 'decode_ms_p50', 'decode_ms_p99', 'decode_ms_first_frame', 'last_frame_age_ms', 'reopens_total', 'decode_errors_total', 'backend', 'ai_locked']) {
    t.ok(key in health.camera, `camera.${key} present`)
  }
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /heart_frames_published/, 'Prometheus metrics are served')
  // DESIGN.md: every per-camera series has a camera label, with one camera too; the process's series have none.
  t.match(metrics, /^heart_frames_published_total\{camera="main"\} \d+$/m, 'a camera series says camera="main"')
  t.match(metrics, /^heart_frames_delivered_total\{camera="main",consumer="verify_a"\} \d+$/m, 'so do its consumers\' series')
  t.match(metrics, /^heart_loop_tick_interval_seconds_count \d+$/m, 'the main loop\'s series carry no camera label')
  t.notMatch(metrics, /heart_thread_cpu[^\n]*camera=/, 'nor the threads\'')

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
    const skipped = Object.values(c.skipped).reduce((a, b) => a + b, 0)
    t.equal(c.lag, 0, `${name}: drained before the summary`)
    t.equal(c.delivered + dropped + skipped, c.published, `${name}: delivered + dropped + skipped = published`)
    if (name === 'detector_like') t.ok(c.skipped.ai_locked! > 0, 'AI-locked frames were skipped and counted')
    else t.equal(dropped, 0, `${name}: no drops`)
  }
})

t.test('an application consumer from the config file (kind: module) gets real frames in its own worker', async (t) => {
  const dir = t.testdir({
    apps: {
      // The app's own module: a serveConsumer setup function as its default export, its options as ctx.config.app.
      'counter.mjs': [
        "import { writeFileSync } from 'node:fs'",
        'export default (ctx) => {',
        '  let frames = 0',
        '  let bytes = 0',
        '  const save = () => writeFileSync(ctx.config.app.countFile, JSON.stringify({ frames, bytes, name: ctx.name }))',
        '  return {',
        '    onFrame(frame) {',
        '      frames++',
        '      bytes += frame.byteLength',
        "      if (frames === 1) ctx.emit('app.first_frame', { seq: String(frame.seq), width: frame.width, height: frame.height, pixFmt: frame.pixFmt, label: ctx.config.app.label })",
        '      if (frames % 10 === 0) save()',
        '    },',
        '    onStop: save,',
        '  }',
        '}',
        '',
      ].join('\n'),
    },
  })
  const countFile = join(dir, 'count.json')
  writeFileSync(
    join(dir, 'heart.yaml'),
    [
      'source: "synthetic://?size=320x240&fps=60"',
      'http: { port: 0 }',
      'thermal: { enabled: false }',
      'consumers:',
      `  - { name: app_counter, kind: module, module: apps/counter.mjs, depth: 8, options: { countFile: ${JSON.stringify(countFile)}, label: hello } }`,
      '',
    ].join('\n'),
  )
  const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), status: false, logger: silentLogger })
  const first: Array<{ seq: string; width: number; height: number; pixFmt: string; label: string }> = []
  heart.kernel.on('app.first_frame', (e) => first.push(e.payload as never))
  for (let i = 0; i < 200 && !existsSync(countFile); i++) await sleep(50)
  await sleep(300)
  const summary = await heart.stop()
  const counted = JSON.parse(readFileSync(countFile, 'utf8')) as { frames: number; bytes: number; name: string }
  t.equal(counted.name, 'app_counter', 'the module runs as the named consumer')
  t.ok(counted.frames >= 10, `the module counted ${counted.frames} frames`)
  t.ok(counted.bytes >= counted.frames * 320 * 240 * 1.5, 'each frame holds at least a whole 320x240 yuv420p picture, in place')
  t.equal(first.length, 1, 'its event reached the main thread')
  t.match(first[0], { width: 320, height: 240, pixFmt: 'yuv420p', label: 'hello' }, 'real camera frames, and it got its options')
  const books = summary.health.consumers.app_counter!
  t.ok(books.delivered >= counted.frames, `ring delivered ${books.delivered} frames to it`)
})

t.test('consumers: [] is a camera-only run', async (t) => {
  const dir = t.testdir({ 'heart.yaml': 'source: "synthetic://?size=320x240&fps=60"\nhttp: { port: 0 }\nthermal: { enabled: false }\nconsumers: []\n' })
  const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), status: false, logger: silentLogger })
  for (let i = 0; i < 600 && heart.report().camera.frames_per_s < 10; i++) await sleep(50)
  const health = (await (await fetch(`http://127.0.0.1:${heart.http.port}/health`)).json()) as Record<string, any>
  t.equal(health.camera.state, 'streaming')
  t.same(Object.keys(health.consumers), [])
  const summary = await heart.stop()
  t.ok(summary.published > 0, `published ${summary.published} frames with no consumer`)
})
