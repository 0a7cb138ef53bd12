// The passthrough live view of a real `heart run` in a real browser: Debian's
// chromium (playwright-core, executablePath /usr/bin/chromium) opens the live
// view, which finds H.264 playable through Media Source Extensions and plays
// GET /cameras/main/live.mp4. Checked: the video's clock advances, frames are
// decoded and shown, the page measures and shows the glass-to-glass latency,
// and the MJPEG encoder stays idle meanwhile. The figures are printed (tap
// comments) and the screenshot lands in test/artifacts/live-view-mse.png.

/// <reference lib="dom" />
// (DOM types for the page.evaluate() callbacks, which run in the browser.)

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { runHeart, type RunningHeart } from '@heart/cli'
import { CHROMIUM, openChromiumPage } from '@heart/stream/testing'
import t from 'tap'

const ARTIFACTS = new URL('../artifacts/', import.meta.url) // test/dist/ -> test/artifacts/

interface PageLive {
  mode: string
  reason: string
  mimeCodec: string | null
  clockOffsetMs: number | null
  clockRttMs: number | null
  latencyMs: number[]
  edgeSeeks: number
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

t.test('passthrough live view in chromium: MSE plays live.mp4 and the latency is measured', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heart-live-mse-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = join(dir, 'heart.yaml')
  // heart's default consumers (the encoder among them), the test camera at a modest size.
  writeFileSync(config, ['source: "testsrc://?size=640x360&fps=30"', 'http: { host: 127.0.0.1, port: 0 }', 'thermal: { enabled: false }', ''].join('\n'))
  const heart: RunningHeart = await runHeart({ configFile: config, status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  const base = `http://127.0.0.1:${heart.http.port}`

  // On a loaded machine the workers may take a while to start: this test is about playing, so it waits for the passthrough first.
  for (let i = 0; i < 600; i++) {
    const info = (await (await fetch(`${base}/cameras/main/live.json`)).json()) as { available: boolean }
    if (info.available) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const { page, foreign, pageErrors } = await openChromiumPage(base, (fn) => t.teardown(fn))
  t.equal((await page.goto(`${base}/`))?.status(), 200, 'GET / loads the live view')
  // While heart starts the page may show MJPEG first; it switches once live.json says the passthrough is served.
  await page.waitForFunction(() => (window as unknown as { heartLive: PageLive }).heartLive.mode === 'mse', null, { timeout: 30_000 }).catch(() => undefined)
  const mode = await page.evaluate(() => {
    const live = (window as unknown as { heartLive: PageLive }).heartLive
    return { mode: live.mode, reason: live.reason, codec: live.mimeCodec }
  })
  t.equal(mode.mode, 'mse', `the page plays the passthrough through MSE (${mode.codec}${mode.reason ? `; ${mode.reason}` : ''})`)

  // The video element's clock advances and frames are decoded.
  await page.waitForFunction(() => (document.getElementById('live-video') as HTMLVideoElement).currentTime > 0, null, { timeout: 20_000 })
  const at = () =>
    page.evaluate(() => {
      const v = document.getElementById('live-video') as HTMLVideoElement
      const q = v.getVideoPlaybackQuality()
      return { time: v.currentTime, decoded: q.totalVideoFrames, dropped: q.droppedVideoFrames, width: v.videoWidth, height: v.videoHeight, paused: v.paused }
    })
  const before = await at()
  await page.waitForTimeout(6000)
  const after = await at()
  t.same([after.width, after.height], [640, 360], 'the camera\'s own size: no re-encode')
  t.notOk(after.paused, 'the video plays')
  const advanced = after.time - before.time
  // With the clock, give or take the page's catch-up (1.15x while behind) and seeks to the live edge.
  t.ok(advanced > 4 && advanced < 8, `video.currentTime advanced ${advanced.toFixed(2)} s in 6 s`)
  const shown = after.decoded - after.dropped - (before.decoded - before.dropped)
  // Half the frames at least, on a loaded machine: a seek to the live edge passes frames over unshown.
  t.ok(shown > 6 * 30 * 0.5, `${shown} frames decoded and shown in 6 s (getVideoPlaybackQuality: ${after.decoded} decoded, ${after.dropped} dropped in all)`)

  // The latency the page measured, one figure per frame shown.
  const live = await page.evaluate(() => {
    const l = (window as unknown as { heartLive: PageLive }).heartLive
    return { latencyMs: [...l.latencyMs], clockOffsetMs: l.clockOffsetMs, clockRttMs: l.clockRttMs, edgeSeeks: l.edgeSeeks }
  })
  t.ok(live.clockRttMs !== null && live.clockRttMs < 200, `clock offset to heart measured: ${live.clockOffsetMs?.toFixed(2)} ms, round trip ${live.clockRttMs?.toFixed(2)} ms`)
  t.ok(live.latencyMs.length > 100, `${live.latencyMs.length} frames with a measured latency`)
  const p50 = percentile(live.latencyMs, 50)
  const p99 = percentile(live.latencyMs, 99)
  t.comment(`glass-to-glass latency in chromium (heart received -> shown): p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${Math.max(...live.latencyMs).toFixed(0)} ms over ${live.latencyMs.length} frames; ${live.edgeSeeks} seeks to the live edge`)
  t.ok(live.latencyMs.every((ms) => ms > 0), 'every frame is shown after heart received it (the clocks agree)')
  // The goal is p99 <= 300 ms; on a 2-core machine shared by other work the browser may lag more, never seconds.
  t.ok(p99 < 1000, `latency p99 ${p99.toFixed(0)} ms is under a second: the page keeps to the live edge`)
  const text = await page.locator('#latency').textContent()
  t.match(text, /latency \d+ ms \(p50 \d+ \/ p99 \d+ ms of \d+ frames, clock ±\d+\.\d ms\)/, `the page shows it: "${text}"`)

  // Nobody watches MJPEG: the encoder is not asked for JPEGs.
  const health = heart.report() as unknown as { stream: { viewers: number; wanted: boolean }; live_mp4: { viewers: number; skipped: number; fragments_sent: number } }
  t.equal(health.stream.viewers, 0, 'no MJPEG viewer')
  t.equal(health.stream.wanted, false, 'the MJPEG encoder is idle while only the passthrough is watched')
  t.equal(health.live_mp4.viewers, 1, 'one live.mp4 viewer')
  t.comment(`live.mp4: ${health.live_mp4.fragments_sent} fragments sent, ${health.live_mp4.skipped} skipped`)

  mkdirSync(ARTIFACTS, { recursive: true })
  const shotPath = new URL('live-view-mse.png', ARTIFACTS)
  writeFileSync(shotPath, await page.screenshot({ fullPage: true }))
  t.ok(existsSync(shotPath), `screenshot saved to ${shotPath.pathname}`)
  t.same(foreign, [], 'nothing was requested from anywhere but heart')
  t.same(pageErrors, [], 'no script errors on the page')
})
