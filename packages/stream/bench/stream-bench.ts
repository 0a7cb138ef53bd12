// Figures for docs/stream.md: native JPEG encode cost from ring pixel formats,
// the JPEG share hand-over, and the hub's cost per frame with N live viewers.
// Prints figures; asserts nothing (speed goals are not tests).
//   pnpm exec tsc -b packages/stream && node packages/stream/dist/bench/stream-bench.js [--json FILE]

import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { frameLayout, type PixelFormatName } from '@heart/ring'
import { JpegShare } from '../src/jpeg-share.js'
import { MjpegHub } from '../src/mjpeg-hub.js'
import { streamRoutes } from '../src/routes.js'
import { LiveFeed } from '../src/live-feed.js'
import { loadEncoder } from '../src/load-encoder.js'
import { startServer } from '../test/helpers/server.js'
import { fakeFrame } from '../test/helpers/frames.js'

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d

/** One real 1080p picture (ffmpeg's testsrc2) in the ring's layout for `pixFmt`. */
function picture(pixFmt: PixelFormatName, width: number, height: number): { bytes: Uint8Array; layout: ReturnType<typeof frameLayout> } {
  const raw = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=1`,
    '-frames:v', '1', '-pix_fmt', pixFmt === 'gray' ? 'gray' : pixFmt, '-f', 'rawvideo', '-'], { maxBuffer: 64 << 20 })
  const layout = frameLayout(width, height, pixFmt)
  const bytes = new Uint8Array(layout.byteLength)
  // Copy tightly packed ffmpeg planes into the ring's (64-byte aligned) strides.
  let src = 0
  for (const plane of layout.planes) {
    const rowBytes = pixFmt === 'nv12' && plane !== layout.planes[0] ? plane.width * 2 : plane.width
    for (let y = 0; y < plane.height; y++) {
      bytes.set(raw.subarray(src, src + rowBytes), plane.offset + y * plane.stride)
      src += rowBytes
    }
  }
  return { bytes, layout }
}

async function benchEncode(): Promise<Record<string, unknown>> {
  const encode = await loadEncoder('@heart/native')
  const out: Record<string, unknown> = {}
  const cases: Array<[PixelFormatName, number, number, number, number]> = [
    ['yuv420p', 1920, 1080, 960, 540],
    ['nv12', 1920, 1080, 960, 540],
    ['yuv420p', 1920, 1080, 1920, 1080],
    ['yuv420p', 1920, 1080, 640, 360],
  ]
  for (const [pixFmt, w, h, ow, oh] of cases) {
    const { bytes, layout } = picture(pixFmt, w, h)
    const times: number[] = []
    let size = 0
    for (let i = 0; i < 60; i++) {
      const t0 = process.hrtime.bigint()
      const jpeg = encode(bytes, layout, { width: ow, height: oh, quality: 75 })
      times.push(Number(process.hrtime.bigint() - t0) / 1e6)
      size = jpeg.byteLength
    }
    times.sort((a, b) => a - b)
    out[`${pixFmt}_${w}x${h}_to_${ow}x${oh}_q75`] = { ms_p50: round(percentile(times, 50)), ms_p99: round(percentile(times, 99)), kB: round(size / 1024, 1) }
  }
  return out
}

function benchShare(): Record<string, unknown> {
  const share = JpegShare.create()
  const frame = fakeFrame(1, 150_000)
  const times: number[] = []
  for (let i = 0; i < 2000; i++) {
    const t0 = process.hrtime.bigint()
    share.write(frame.jpeg, frame.meta)
    share.readLatest()
    times.push(Number(process.hrtime.bigint() - t0) / 1e3)
  }
  times.sort((a, b) => a - b)
  return { write_and_copy_out_150kB_us_p50: round(percentile(times, 50), 1), us_p99: round(percentile(times, 99), 1) }
}

async function benchHub(viewers: number): Promise<Record<string, unknown>> {
  const hub = new MjpegHub()
  const server = await startServer(streamRoutes({ hub, feed: new LiveFeed() }))
  const reqs = []
  let received = 0
  for (let i = 0; i < viewers; i++) {
    const req = request(`${server.url}/stream.mjpeg`)
    req.on('response', (res) => res.on('data', (c: Buffer) => (received += c.length)))
    req.end()
    reqs.push(req)
  }
  while (hub.stats().viewers < viewers) await new Promise((r) => setTimeout(r, 5))
  const frame = fakeFrame(1, 100_000)
  const frames = 300
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < frames; i++) {
    hub.publish({ jpeg: frame.jpeg, meta: { ...frame.meta, seq: BigInt(i) } })
    await new Promise((r) => setTimeout(r, 10)) // ~100 fps offered
  }
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(cpu0)
  const stats = hub.stats()
  for (const r of reqs) r.destroy()
  await server.close()
  return {
    viewers,
    offered_fps: round(frames / wallS, 1),
    sent_per_viewer_fps: round(stats.sent / viewers / wallS, 1),
    skipped: stats.skipped,
    main_cpu_ms_per_frame_incl_client: round((cpu.user + cpu.system) / 1000 / frames, 3),
    MB_received: round(received / 1e6, 1),
  }
}

const results: Record<string, unknown> = {}
results.encode = await benchEncode()
results.share = benchShare()
results.hub = [await benchHub(1), await benchHub(4), await benchHub(16)]
console.log(JSON.stringify(results, null, 2))
const jsonAt = process.argv.indexOf('--json')
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1]!, JSON.stringify({ scope: 'stream', results }, null, 2) + '\n')
