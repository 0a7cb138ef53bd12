// The live view's camera picker in a real browser (Debian's chromium through
// playwright-core): a server with the page's real static files, two cameras
// (`front` 640x360 and `rear` 320x180, each its own MjpegHub and LiveFeed
// behind /cameras/NAME/...), a stub /health naming both, and a log of every
// request and of the connections still open, so the test sees which camera's
// URLs the page asks for and that the previous camera's streams are closed.

import { existsSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { CHROMIUM, openChromiumPage } from '../src/testing/chromium.js'
import { LiveFeed } from '../src/live-feed.js'
import { MjpegHub } from '../src/mjpeg-hub.js'
import { streamRoutes } from '../src/routes.js'
import type { HttpRoute } from '../src/types.js'
import { ffmpegJpegs } from './helpers/frames.js'
import { startServer } from './helpers/server.js'

const ARTIFACTS = new URL('../../test/artifacts/', import.meta.url)
const NAMES = ['front', 'rear'] as const
type Name = (typeof NAMES)[number]
const SIZES: Record<Name, { width: number; height: number }> = { front: { width: 640, height: 360 }, rear: { width: 320, height: 180 } }

function cameraHealth(state: string, fps: number, ageMs: number, motionDropped: number): Record<string, unknown> {
  return {
    state,
    frames_per_s: fps,
    decode_ms_p50: 2.5,
    decode_ms_p99: 6.1,
    decode_ms_first_frame: 30,
    last_frame_age_ms: ageMs,
    reopens_total: 0,
    decode_errors_total: 0,
    backend: 'software',
    ai_locked: false,
    consumers: {
      motion: { delivered: 5000, dropped: motionDropped > 0 ? { motion_slow: motionDropped } : {}, skipped: {}, lag: 0, state: 'active' },
      telemetry_stream: { delivered: 900, dropped: {}, skipped: { rate_limited: 4100 }, lag: 0, state: 'active' },
    },
  }
}

// front is healthy; rear's last frame is 450 ms old and its motion consumer dropped 4 frames (yellow).
const health = {
  status: 'yellow',
  reasons: ['rear: last frame 450 ms ago'],
  cameras: { front: cameraHealth('streaming', 30, 12, 0), rear: cameraHealth('streaming', 15, 450, 4) },
  camera: cameraHealth('streaming', 30, 12, 0),
  consumers: cameraHealth('streaming', 30, 12, 0)['consumers'],
  loop: { tick_ms_p50: 0.4, tick_ms_p99: 1.9, tick_ms_max: 3 },
  workers: {},
}

interface RequestLog {
  /** Every pathname asked for, in order. */
  paths: string[]
  /** Connections not yet closed, by pathname. */
  open: Map<string, number>
}

/** Wraps a route so each request is logged and its connection counted until it closes. */
function logged(route: HttpRoute, log: RequestLog): HttpRoute {
  return {
    ...route,
    handle: (req: IncomingMessage, res: ServerResponse) => {
      log.paths.push(route.path)
      log.open.set(route.path, (log.open.get(route.path) ?? 0) + 1)
      res.once('close', () => log.open.set(route.path, log.open.get(route.path)! - 1))
      return route.handle(req, res)
    },
  }
}

function isStatic(route: HttpRoute): boolean {
  return route.path === '/' || route.path.startsWith('/live/')
}

t.test('live view in chromium: camera picker, per-camera URLs, ?camera= link and the camera strip', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, async (t) => {
  const log: RequestLog = { paths: [], open: new Map() }
  const routes: HttpRoute[] = []
  const publishers: Array<() => void> = []
  for (const name of NAMES) {
    const hub = new MjpegHub()
    const feed = new LiveFeed()
    hub.onPublish((frame) => feed.publishFrame(frame))
    const { width, height } = SIZES[name]
    const jpegs = ffmpegJpegs(2, width, height)
    let seq = 0
    publishers.push(() => {
      seq++
      const now = process.hrtime.bigint()
      hub.publish({ jpeg: jpegs[seq % jpegs.length]!, meta: { seq: BigInt(seq), captureTsNs: now, encodedTsNs: now, srcWidth: width, srcHeight: height, width, height, encodeUs: 1000, flags: 0 } })
    })
    const own = streamRoutes({ hub, feed })
    // The page's files once (from the first camera's routes); each camera's streams under its prefix.
    if (name === NAMES[0]) routes.push(...own.filter(isStatic))
    routes.push(...own.filter((r) => !isStatic(r)).map((r) => logged({ ...r, path: `/cameras/${name}${r.path}` }, log)))
    // No compressed stream in this test: live.json says so and the page plays MJPEG.
    routes.push(
      logged(
        {
          method: 'GET',
          path: `/cameras/${name}/live.json`,
          handle: (_req, res) => {
            res.writeHead(200, { 'Content-Type': 'application/json' })
            res.end(JSON.stringify({ camera: name, available: false, state: 'failed', problem: 'no compressed stream in this test', url: `/cameras/${name}/live.mp4` }))
          },
        },
        log,
      ),
    )
  }
  routes.push({
    method: 'GET',
    path: '/health',
    handle: (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(health))
    },
  })
  const server = await startServer(routes)
  t.teardown(() => server.close())
  const publishAll = (): void => publishers.forEach((publish) => publish())
  publishAll()
  const timer = setInterval(publishAll, 100)
  t.teardown(() => clearInterval(timer))

  const cameraPaths = (name: Name, from = 0): string[] => log.paths.slice(from).filter((p) => p.startsWith(`/cameras/${name}/`))
  const openOf = (name: Name): number => [...log.open].filter(([p]) => p.startsWith(`/cameras/${name}/`)).reduce((n, [, count]) => n + count, 0)
  const waitFor = async (what: string, ok: () => boolean, ms = 10_000): Promise<void> => {
    const end = Date.now() + ms
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  const { page, foreign, pageErrors } = await openChromiumPage(server.url, (fn) => t.teardown(fn))
  const shownWidth = (width: number): Promise<unknown> =>
    page.waitForFunction((w) => (document.getElementById('video') as HTMLImageElement).naturalWidth === w, width, { timeout: 15_000 })

  // Opened without a camera in the link: the first of /health's cameras.
  t.equal((await page.goto(`${server.url}/`))?.status(), 200, 'the page loads')
  await shownWidth(640)
  t.same(await page.locator('#camera-picker option').allTextContents(), ['front', 'rear'], 'the picker lists both cameras, in /health order')
  t.equal(await page.locator('#camera-picker').inputValue(), 'front', 'the first camera is picked')
  t.ok(await page.locator('#camera-picker').isVisible(), 'the picker shows with two cameras')
  await page.waitForFunction(() => /640×360/.test(document.getElementById('frame-info')!.textContent ?? ''), null, { timeout: 10_000 })
  t.pass("front's frame events reach the caption")
  t.ok(cameraPaths('front').includes('/cameras/front/stream.mjpeg'), "front's MJPEG is requested")
  t.ok(cameraPaths('front').includes('/cameras/front/events'), "front's event stream is requested")
  t.same(cameraPaths('rear'), [], 'nothing of rear is requested while front is shown')

  // The strip: both cameras with their state, fps, last frame age and drops; colours; front pressed.
  const strip = page.locator('#cameras')
  t.ok(await strip.isVisible(), 'the camera strip shows')
  const front = strip.locator('button[data-camera="front"]')
  const rear = strip.locator('button[data-camera="rear"]')
  t.match(await front.innerText(), /front\s+streaming\s+30\.0 fps\s+12\.0 ms\s+0 dropped/, "front's figures")
  t.match(await rear.innerText(), /rear\s+streaming\s+15\.0 fps\s+450\.0 ms\s+4 dropped/, "rear's figures")
  t.match(await front.getAttribute('class'), /\bgreen\b/, 'front is green')
  t.match(await rear.getAttribute('class'), /\byellow\b/, 'rear (its last frame 450 ms old) is yellow')
  t.match(await rear.locator('.cam-drops').getAttribute('class'), /\bwarn\b/, "rear's drops are marked")
  t.equal(await front.getAttribute('aria-pressed'), 'true', 'front is highlighted')
  t.equal(await rear.getAttribute('aria-pressed'), 'false')
  t.match(await page.locator('#camera-table caption').textContent(), /^front$/, "the camera table is front's")

  // Pick rear: every per-camera URL moves to /cameras/rear/..., front's streams close and front is asked for nothing more.
  const switchedAt = log.paths.length
  await page.locator('#camera-picker').selectOption('rear')
  await shownWidth(320)
  t.pass("rear's MJPEG shows after picking rear")
  await page.waitForFunction(() => /320×180/.test(document.getElementById('frame-info')!.textContent ?? ''), null, { timeout: 10_000 })
  t.pass("rear's frame events reach the caption")
  t.equal(new URL(page.url()).searchParams.get('camera'), 'rear', 'the URL names rear, so the link opens it')
  for (const path of ['live.json', 'stream.mjpeg', 'events']) t.ok(cameraPaths('rear', switchedAt).includes(`/cameras/rear/${path}`), `rear's ${path} is requested`)
  await waitFor("front's connections to close", () => openOf('front') === 0)
  t.equal(openOf('front'), 0, "front's MJPEG and event stream are closed")
  // Past the page's 5 s live.json retry: a leftover timer of front's would have asked again by now.
  await page.waitForTimeout(6000)
  t.same(cameraPaths('front', switchedAt), [], 'front is not requested after the switch')
  t.ok(cameraPaths('rear', switchedAt).filter((p) => p.endsWith('/live.json')).length >= 2, "rear's live.json is looked at again (the retry runs for the shown camera)")
  t.equal(await rear.getAttribute('aria-pressed'), 'true', 'rear is highlighted')
  t.equal(await front.getAttribute('aria-pressed'), 'false')
  t.match(await page.locator('#camera-table caption').textContent(), /^rear$/, "the camera table is rear's")
  t.match(await page.locator('#camera-table').innerText(), /last frame age\s+450\.0 ms/, "rear's figures in the camera table")
  t.match(await page.locator('#consumers-table').innerText(), /motion\s+5,000\s+0\s+4\s+motion_slow 4/, "rear's consumers")

  // Click front in the strip: back to front.
  const backAt = log.paths.length
  await page.locator('#cameras button[data-camera="front"]').click()
  await shownWidth(640)
  t.equal(await page.locator('#camera-picker').inputValue(), 'front', 'a click in the strip picks the camera')
  await waitFor("rear's connections to close", () => openOf('rear') === 0)
  t.ok(cameraPaths('front', backAt).includes('/cameras/front/stream.mjpeg'), "front's MJPEG is requested again")

  // A link with ?camera=rear opens rear, and never asks for front (marked once the last page is gone).
  const leave = async (): Promise<number> => {
    await page.goto('about:blank')
    await waitFor('the last page to close its streams', () => openOf('front') + openOf('rear') === 0)
    return log.paths.length
  }
  const linkAt = await leave()
  await page.goto(`${server.url}/?camera=rear`)
  await shownWidth(320)
  t.equal(await page.locator('#camera-picker').inputValue(), 'rear', '?camera=rear opens rear')
  await waitFor("rear's event stream", () => cameraPaths('rear', linkAt).includes('/cameras/rear/events'))
  t.same(cameraPaths('front', linkAt), [], 'the ?camera=rear page asks nothing of front')

  // The #camera= form too, and on a phone-sized screen the page does not widen past it.
  await page.setViewportSize({ width: 390, height: 844 })
  const hashAt = await leave()
  await page.goto(`${server.url}/#camera=front`)
  await shownWidth(640)
  t.equal(await page.locator('#camera-picker').inputValue(), 'front', '#camera=front opens front')
  t.same(cameraPaths('rear', hashAt), [], 'the #camera=front page asks nothing of rear')
  t.ok(await page.locator('#cameras button[data-camera="rear"]').isVisible(), 'the strip shows on a phone-sized screen')
  const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth)
  t.ok(pageWidth <= 390, `the page fits a 390 px wide screen (${pageWidth} px)`)

  // rear disabled in the config: the strip greys it, and picking it opens no stream (its routes would only 404).
  health.cameras.rear = { ...health.cameras.rear, state: 'disabled' }
  await page.waitForFunction(() => /\boff\b/.test(document.querySelector('#cameras button[data-camera="rear"]')?.className ?? ''), null, { timeout: 10_000 })
  t.match(await page.locator('#cameras button[data-camera="rear"]').innerText(), /rear\s+disabled/, 'the strip says rear is disabled')
  const disabledAt = log.paths.length
  await page.locator('#cameras button[data-camera="rear"]').click()
  await page.locator('#video-msg', { hasText: 'camera rear is disabled in the config' }).waitFor({ timeout: 10_000 })
  t.pass('picking the disabled camera says so where the video was')
  await waitFor("front's connections to close", () => openOf('front') === 0)
  await page.waitForTimeout(1500)
  t.same(cameraPaths('rear', disabledAt), [], 'nothing is requested of the disabled camera')

  // For a person to look at (playwright makes the folder); git-ignored.
  await page.screenshot({ fullPage: true, path: fileURLToPath(new URL('live-view-cameras-phone.png', ARTIFACTS)) })

  t.same(foreign, [], 'nothing was requested from anywhere but heart')
  t.same(pageErrors, [], 'no script errors on the page')
})
