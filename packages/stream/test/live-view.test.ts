// The live view in a real browser: Debian's chromium driven by playwright-core
// (never `playwright install`), against a server that mounts this package's
// routes, publishes real JPEGs made by the ffmpeg CLI, motion boxes,
// detections and thermal frames, and serves a fake /health.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { CHROMIUM, openChromiumPage, pictureFingerprint } from '../src/testing/chromium.js'
import t from 'tap'
import { LiveFeed } from '../src/live-feed.js'
import { MjpegHub } from '../src/mjpeg-hub.js'
import { streamRoutes } from '../src/routes.js'
import type { HttpRoute } from '../src/types.js'
import { ffmpegJpegs } from './helpers/frames.js'
import { startServer } from './helpers/server.js'

const ARTIFACTS = new URL('../../test/artifacts/', import.meta.url)

const fakeHealth = {
  status: 'yellow',
  reasons: ['camera reopened once'],
  camera: {
    state: 'running',
    frames_per_s: 29.97,
    decode_ms_p50: 3.21,
    decode_ms_p99: 7.85,
    decode_ms_first_frame: 41.5,
    last_frame_age_ms: 12,
    reopens_total: 1,
    decode_errors_total: 0,
    backend: 'software',
    ai_locked: false,
  },
  consumers: {
    motion: { delivered: 12345, dropped: { motion_slow: 3 }, lag: 0, state: 'active' },
    detection: { delivered: 2222, dropped: { rate_limited: 7500, ai_locked: 12 }, lag: 1, state: 'active' },
    telemetry_stream: { delivered: 6000, dropped: { rate_limited: 6000 }, lag: 0, state: 'active' },
  },
  thermal: { frames_per_s: 9.98, lost_total: 2, loss_ratio: 0.0011 },
  loop: { tick_ms_p50: 0.42, tick_ms_p99: 1.87, tick_ms_max: 3.3 },
  workers: {
    capture: { state: 'running', starts: 1, crashes: 0, last_crash: null },
    detection: { state: 'restarting', starts: 3, crashes: 2, last_crash: 'Error: detection server refused the connection' },
  },
  stream: { viewers: 1, skipped: 4 },
}

function thermalFrame(seq: number): number[] {
  // A warm blob that moves around a 24 °C background.
  const cx = 16 + 10 * Math.cos(seq / 5)
  const cy = 12 + 6 * Math.sin(seq / 5)
  const out: number[] = []
  for (let y = 0; y < 24; y++) {
    for (let x = 0; x < 32; x++) out.push(24 + 12 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 18))
  }
  return out
}

t.test('live view in chromium: video updates, overlay, heat map and health table', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, async (t) => {
  const jpegs = ffmpegJpegs(6, 640, 360)
  const hub = new MjpegHub()
  const feed = new LiveFeed()
  hub.onPublish((frame) => feed.publishFrame(frame))
  const healthRoute: HttpRoute = {
    method: 'GET',
    path: '/health',
    handle: (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(fakeHealth))
    },
  }
  const server = await startServer([...streamRoutes({ hub, feed }), healthRoute])
  t.teardown(() => server.close())

  // The "encoder": cycle the ffmpeg JPEGs at 10 fps with boxes and thermal frames alongside.
  let seq = 0
  let flags = 0
  const publishOne = (): void => {
    seq++
    const now = process.hrtime.bigint()
    hub.publish({
      jpeg: jpegs[seq % jpegs.length]!,
      meta: { seq: BigInt(seq), captureTsNs: now, encodedTsNs: now, srcWidth: 1280, srcHeight: 720, width: 640, height: 360, encodeUs: 4200, flags },
    })
    feed.publish('motion', { seq, boxes: [{ x: 100 + (seq % 20) * 10, y: 120, w: 220, h: 160 }] })
    feed.publish('detection', { seq, latencyMs: 35, detections: [{ label: 'person', confidence: 0.87, box: { x: 700, y: 200, w: 180, h: 380 } }] })
    feed.publish('thermal.frame', { seq, tsNs: String(now), ta: 24.5, temperatures: thermalFrame(seq) })
  }
  publishOne()
  const timer = setInterval(publishOne, 100)
  t.teardown(() => clearInterval(timer))

  const { page, foreign, pageErrors } = await openChromiumPage(server.url, (fn) => t.teardown(fn))

  const response = await page.goto(`${server.url}/`)
  t.equal(response?.status(), 200, 'the page loads')
  t.equal(await page.title(), 'heart · live view')

  // The video: the <img> decodes frames, and they change over time.
  await page.waitForFunction(() => (document.getElementById('video') as HTMLImageElement).naturalWidth === 640, null, { timeout: 15_000 })
  t.pass('the MJPEG stream shows in the <img>')
  const picture = () => pictureFingerprint(page)
  const first = await picture()
  const seqA = await page.locator('#frame-info').textContent()
  await page.waitForFunction((before) => document.getElementById('frame-info')!.textContent !== before, seqA, { timeout: 10_000 })
  // Six JPEGs are cycled, so a single later look could land on the same one: look a few times.
  let changed = false
  for (let i = 0; i < 20 && !changed; i++) {
    await page.waitForTimeout(130)
    changed = first !== (await picture())
  }
  t.ok(changed, 'the video shows a different frame a moment later')
  t.match(await page.locator('#frame-info').textContent(), /#\d+ · 640×360 of 1280×720 · \d+\.\d fps/, 'frame info from the event stream')
  t.notOk(await page.locator('#ai-lock').isVisible(), 'no AI-lock badge while frames are not AI-locked')

  // The overlay: motion and detection boxes are drawn over the video.
  const overlayInk = await page.evaluate(() => {
    const c = document.getElementById('overlay') as HTMLCanvasElement
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
    let ink = 0
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) ink++
    return ink
  })
  t.ok(overlayInk > 500, `boxes are drawn on the overlay (${overlayInk} pixels)`)

  // The heat map: drawn, with a hot spot clearly brighter than the background, and its scale and Ta.
  await page.waitForFunction(() => document.getElementById('t-ambient')!.textContent !== '–', null, { timeout: 10_000 })
  const heat = await page.evaluate(() => {
    const c = document.getElementById('thermal') as HTMLCanvasElement
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
    let min = Infinity
    let max = -Infinity
    for (let i = 0; i < data.length; i += 4) {
      const lum = data[i]! + data[i + 1]! + data[i + 2]!
      min = Math.min(min, lum)
      max = Math.max(max, lum)
    }
    return { min, max }
  })
  t.ok(heat.max - heat.min > 300, `the heat map spans dark to bright (${heat.min}..${heat.max})`)
  t.equal(await page.locator('#t-ambient').textContent(), '24.5 °C', 'Ta is shown')
  t.equal(await page.locator('#t-min').textContent(), '24.0 °C', 'the scale minimum')
  t.match(await page.locator('#t-max').textContent(), /^3[56]\.\d °C$/, 'the scale maximum')

  // The health table: the running figures, and the status colour.
  await page.waitForFunction(() => document.querySelector('#consumers-table tbody tr') !== null, null, { timeout: 10_000 })
  t.equal(await page.locator('#status').textContent(), 'yellow')
  t.match(await page.locator('#status').getAttribute('class'), /\byellow\b/)
  const camera = await page.locator('#camera-table').innerText()
  t.match(camera, /frames \/ s\s+30\.0/)
  t.match(camera, /decode p50 \/ p99\s+3\.21 ms \/ 7\.85 ms/)
  t.match(camera, /reopens\s+1/)
  const loop = await page.locator('#loop-table').innerText()
  t.match(loop, /tick p99\s+1\.87 ms/)
  t.match(loop, /thermal loss\s+0\.11 %/)
  const consumers = await page.locator('#consumers-table').innerText()
  t.match(consumers, /motion\s+12,345\s+0\s+3\s+motion_slow 3/)
  t.match(consumers, /detection\s+2,222\s+1\s+7,512\s+rate_limited 7,500\s*ai_locked 12/)

  // AI-locked frames (FrameFlags.AI_LOCKED = 1) show a badge.
  flags = 1
  await page.locator('#ai-lock').waitFor({ state: 'visible', timeout: 10_000 })
  t.pass('the AI-lock badge shows for AI-locked frames')

  const workers = await page.locator('#workers-table').innerText()
  t.match(workers, /detection\s+restarting\s+3\s+2\s+Error: detection server refused the connection/)
  t.match(loop, /stream viewers\s+1/)

  mkdirSync(ARTIFACTS, { recursive: true })
  const shotPath = new URL('live-view.png', ARTIFACTS)
  writeFileSync(shotPath, await page.screenshot({ fullPage: true }))
  t.ok(existsSync(shotPath), `screenshot saved to ${shotPath.pathname}`)

  t.same(foreign, [], 'nothing was requested from anywhere but heart')
  t.same(pageErrors, [], 'no script errors on the page')
})
