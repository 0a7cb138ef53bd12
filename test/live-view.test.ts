// The live view of a real `heart run` in a real browser: Debian's chromium
// driven by playwright-core (executablePath /usr/bin/chromium; never
// `playwright install`). heart runs in-process with its default consumers
// (movement detector, detection client, telemetry encoder) on the built-in
// test camera at a modest size, plus the emulated MLX90640; nothing here is
// faked. The screenshot lands in test/artifacts/live-view-heart-run.png.

/// <reference lib="dom" />
// (DOM types for the page.evaluate() callbacks, which run in the browser.)

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { runHeart, type RunningHeart } from '@heart/cli'
import { CHROMIUM, openChromiumPage, pictureFingerprint } from '@heart/stream/testing'
import t from 'tap'

const ARTIFACTS = new URL('../artifacts/', import.meta.url) // test/dist/ -> test/artifacts/

/** The number in a key/value table row, e.g. "frames / s\t29.9" -> 29.9. */
function figure(table: string, label: string): number {
  const line = table.split('\n').find((l) => l.startsWith(label))
  const m = line?.slice(label.length).match(/-?[\d,]+(\.\d+)?/)
  return m ? Number(m[0].replace(/,/g, '')) : NaN
}

t.test('live view of a real heart run in chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heart-live-view-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = join(dir, 'heart.yaml')
  // No consumers listed: heart's defaults. Port 0 picks a free port.
  writeFileSync(config, ['source: "testsrc://?size=640x360&fps=30"', 'http: { host: 127.0.0.1, port: 0 }', ''].join('\n'))
  const heart: RunningHeart = await runHeart({ configFile: config, status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  const base = `http://127.0.0.1:${heart.http.port}`

  const { page, foreign, pageErrors } = await openChromiumPage(base, (fn) => t.teardown(fn))

  // ?video=mjpeg: this test is about the MJPEG path (the encoder, its frame info); where the
  // browser plays H.264 the page would otherwise take the passthrough (packages/stream/test/live-mp4-chromium.test.ts).
  const response = await page.goto(`${base}/?video=mjpeg`)
  t.equal(response?.status(), 200, 'GET / loads the live view')
  t.equal(await page.title(), 'heart · live view')

  // The video: the <img> shows the encoder's MJPEG, and the picture changes.
  await page.waitForFunction(() => (document.getElementById('video') as HTMLImageElement).naturalWidth > 0, null, { timeout: 30_000 })
  const size = await page.evaluate(() => {
    const img = document.getElementById('video') as HTMLImageElement
    return { w: img.naturalWidth, h: img.naturalHeight }
  })
  t.ok(size.w > 0 && size.h > 0, `the MJPEG stream shows in the <img> (${size.w}x${size.h})`)
  const picture = () => pictureFingerprint(page)
  const first = await picture()
  let changed = false
  for (let i = 0; i < 50 && !changed; i++) {
    await page.waitForTimeout(200)
    changed = first !== (await picture())
  }
  t.ok(changed, 'the video shows a different picture a moment later (the test camera moves)')
  await page.waitForFunction(() => /#\d+/.test(document.getElementById('frame-info')!.textContent ?? ''), null, { timeout: 10_000 })
  t.match(await page.locator('#frame-info').textContent(), /#\d+ · \d+×\d+ of 640×360/, 'frame info from the event stream')

  // The health table: running figures from the real /health.
  await page.waitForFunction(() => document.querySelectorAll('#consumers-table tbody tr').length >= 3, null, { timeout: 15_000 })
  // Figures appear once a second; wait for a frame rate above zero.
  await page.waitForFunction(
    () => {
      const rows = Array.from(document.querySelectorAll('#camera-table tr')).map((r) => (r as HTMLElement).innerText)
      const fps = rows.find((r) => r.startsWith('frames / s'))
      return fps !== undefined && Number(fps.replace(/^frames \/ s\s*/, '')) > 0
    },
    null,
    { timeout: 15_000 },
  )
  const camera = await page.locator('#camera-table').innerText()
  const fps = figure(camera, 'frames / s')
  t.ok(fps > 0, `camera frames / s in the table: ${fps}`)
  t.match(camera, /state\s+streaming/, 'the camera is streaming')
  // Let the figures settle past start-up: the movement detector has seen a second of video, and the encoder
  // (which works only while someone watches) has been counted delivering since this page began to watch.
  await page.waitForFunction(
    () => {
      const lines = (document.getElementById('consumers-table') as HTMLElement).innerText.split('\n')
      const delivered = (name: string): number => Number(lines.find((l) => l.startsWith(name))?.slice(name.length).trim().split(/\s+/)[0]?.replace(/,/g, ''))
      return delivered('movement_detector') >= 30 && delivered('telemetry_stream') > 0
    },
    null,
    { timeout: 20_000 },
  )
  // The detection client is rate-capped (fpsCap 5 by default): once it has
  // run a moment, its row shows frames dropped as rate_limited.
  await page.waitForFunction(() => /detection_client[^\n]*rate_limited/.test((document.getElementById('consumers-table') as HTMLElement).innerText), null, {
    timeout: 15_000,
  })
  const consumers = await page.locator('#consumers-table').innerText()
  for (const name of ['movement_detector', 'detection_client', 'telemetry_stream']) {
    const line = consumers.split('\n').find((l) => l.startsWith(name))
    // Cells are tab-separated; the name cell may carry a note (the detection client's unreachable service).
    const delivered = Number(line?.split('\t')[1]?.trim().replace(/,/g, ''))
    t.ok(delivered > 0, `${name}: ${delivered} frames delivered, shown in the table`)
  }
  t.match(consumers, /detection_client[^\n]*rate_limited/, 'the detection client shows its rate-capped frames')
  const loop = await page.locator('#loop-table').innerText()
  t.ok(figure(loop, 'tick p99') > 0, `loop tick p99 shown: ${figure(loop, 'tick p99')} ms`)
  t.ok(figure(loop, 'thermal frames / s') > 0, `thermal frames / s shown: ${figure(loop, 'thermal frames / s')}`)
  const workers = await page.locator('#workers-table').innerText()
  t.match(workers, /movement_detector\s+running/, 'workers table: the movement detector runs')

  // The heat map, drawn from the emulated MLX90640 through the thermal ring.
  await page.waitForFunction(() => /°C/.test(document.getElementById('t-ambient')!.textContent ?? ''), null, { timeout: 15_000 })
  const heat = await page.evaluate(() => {
    const c = document.getElementById('thermal') as HTMLCanvasElement
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
    let min = Infinity
    let max = -Infinity
    let opaque = 0
    for (let i = 0; i < data.length; i += 4) {
      const lum = data[i]! + data[i + 1]! + data[i + 2]!
      min = Math.min(min, lum)
      max = Math.max(max, lum)
      if (data[i + 3]! > 0) opaque++
    }
    return { min, max, opaque, cells: data.length / 4 }
  })
  t.equal(heat.opaque, heat.cells, 'the heat map covers its canvas')
  t.ok(heat.max - heat.min > 100, `the heat map shows warm and cool parts (${heat.min}..${heat.max})`)
  t.match(await page.locator('#t-ambient').textContent(), /^\d+\.\d °C$/, 'Ta from the sensor')
  t.match(await page.locator('#t-min').textContent(), /^\d+\.\d °C$/)
  t.match(await page.locator('#t-max').textContent(), /^\d+\.\d °C$/)

  // Motion boxes from the movement detector reach the overlay (the test
  // camera's box sweeps across a moving gradient).
  let ink = 0
  for (let i = 0; i < 50 && ink === 0; i++) {
    ink = await page.evaluate(() => {
      const c = document.getElementById('overlay') as HTMLCanvasElement
      if (c.width === 0 || c.height === 0) return 0
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
      let n = 0
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++
      return n
    })
    if (ink === 0) await page.waitForTimeout(200)
  }
  t.ok(ink > 0, `motion boxes are drawn on the overlay (${ink} pixels)`)

  mkdirSync(ARTIFACTS, { recursive: true })
  const shotPath = new URL('live-view-heart-run.png', ARTIFACTS)
  writeFileSync(shotPath, await page.screenshot({ fullPage: true }))
  t.ok(existsSync(shotPath), `screenshot saved to ${shotPath.pathname}`)

  t.same(foreign, [], 'nothing was requested from anywhere but heart')
  t.same(pageErrors, [], 'no script errors on the page')

  // And heart's own books agree with what the page showed.
  const health = heart.report() as unknown as { consumers: Record<string, { delivered: number }> }
  t.ok(health.consumers.movement_detector!.delivered > 0, 'heart counts frames delivered to the movement detector')
})
