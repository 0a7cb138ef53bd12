// GET /cameras/main/live.mp4 of a real `heart run`: the built-in test camera
// (H.264 through the real demuxer), the packet ring, the live-mp4 worker and
// FFmpeg's muxer, read over HTTP for about two seconds and judged by ffprobe.
import t from 'tap'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { silentLogger } from '@heart/kernel'
import { runHeart } from '../src/run.js'

const run = promisify(execFile)
const FPS = 30

/** Fetches `path` for `ms`, then hangs up; resolves with the status, headers and every byte received. */
function fetchFor(port: number, path: string, ms: number): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; openedAt: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const req = get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const openedAt = performance.now()
      res.on('data', (c: Buffer) => chunks.push(c))
      const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), openedAt })
      res.on('end', done)
      setTimeout(() => {
        req.destroy()
        done()
      }, ms)
    })
    req.on('error', (error) => (chunks.length > 0 ? undefined : reject(error)))
  })
}

/** The top-level boxes of an MP4 byte stream, in order. */
function topLevelBoxes(bytes: Buffer): Array<{ type: string; at: number; size: number }> {
  const out: Array<{ type: string; at: number; size: number }> = []
  for (let at = 0; at + 8 <= bytes.length; ) {
    const size = bytes.readUInt32BE(at)
    if (size < 8 || at + size > bytes.length) break
    out.push({ type: bytes.subarray(at + 4, at + 8).toString('latin1'), at, size })
    at += size
  }
  return out
}

t.test('live.mp4 of the test camera: decodes, starts at a keyframe, one fragment per frame at the camera rate', async (t) => {
  const dir = t.testdir({})
  const config = join(dir, 'heart.yaml')
  writeFileSync(config, [`source: "testsrc://?size=320x240&fps=${FPS}"`, 'http: { port: 0, limits: { maxMp4Viewers: 1 } }', 'thermal: { enabled: false }', 'consumers: []', ''].join('\n'))
  const heart = await runHeart({ configFile: config, status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  const { port } = heart.http
  const base = `http://127.0.0.1:${port}`

  // The page's question first: is it served, and in which codec?
  type LiveInfo = { available: boolean; mimeCodec: string | null; codec: string; width: number; height: number; timescale: number }
  let info: LiveInfo | null = null
  for (let i = 0; i < 100; i++) {
    info = (await (await fetch(`${base}/cameras/main/live.json`)).json()) as LiveInfo
    if (info.available) break
    await new Promise((r) => setTimeout(r, 100))
  }
  t.ok(info?.available, 'live.json: available once the camera streams')
  t.match(info?.mimeCodec, /^avc1\.[0-9a-f]{6}$/, `live.json names the codec for MediaSource.isTypeSupported (${info?.mimeCodec})`)
  t.same([info?.codec, info?.width, info?.height], ['h264', 320, 240], 'the camera\'s own codec and size')
  const idle = heart.report() as unknown as { live_mp4: { fragments_made: number; state: string } }
  t.equal(idle.live_mp4.fragments_made, 0, 'nobody watched yet: the worker muxed nothing')

  const requestedAt = performance.now()
  const watching = fetchFor(port, '/cameras/main/live.mp4', 2000)
  await new Promise((r) => setTimeout(r, 500))
  const second = await fetch(`${base}/live.mp4`)
  t.equal(second.status, 503, 'a second viewer past http.limits.maxMp4Viewers (1) gets 503')
  await second.body?.cancel()
  const { status, headers, body, openedAt } = await watching
  const seconds = (performance.now() - openedAt) / 1000
  t.equal(status, 200)
  t.equal(headers['content-type'], 'video/mp4')
  t.match(headers['cache-control'], /no-store/)
  t.equal(headers['transfer-encoding'], 'chunked', 'chunked: the response runs until the viewer leaves')
  t.equal(headers['x-mime-codec'], info?.mimeCodec, 'the codec in a header too')

  // The hang-up cut the last fragment short: keep the whole ones (each ends with its mdat).
  const received = topLevelBoxes(body)
  const boxes = received.slice(0, received.findLastIndex((b) => b.type === 'mdat') + 1)
  const last = boxes.at(-1)!
  const file = join(dir, 'live.mp4')
  writeFileSync(file, body.subarray(0, last.at + last.size))
  t.same(boxes.slice(0, 2).map((b) => b.type), ['ftyp', 'moov'], 'the init segment comes first')
  const moofs = boxes.filter((b) => b.type === 'moof').length
  const prfts = boxes.filter((b) => b.type === 'prft')
  t.equal(prfts.length, moofs, `every fragment (${moofs}) is preceded by its prft box`)
  t.same(boxes.slice(2, 5).map((b) => b.type), ['prft', 'moof', 'mdat'], 'a fragment: prft, moof, mdat')

  const probe = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pts_time', '-of', 'csv=p=0', file])
  const frames = probe.stdout.trim().split('\n').filter((line) => /^[01],/.test(line)).map((line) => line.split(',')).map(([key, pts]) => ({ key: key === '1', pts: Number(pts) }))
  t.ok(frames[0]?.key, 'ffprobe: the first frame is a keyframe')
  t.equal(frames.length, moofs, `one frame per fragment (${frames.length})`)
  const steps = frames.slice(1).map((f, i) => f.pts - frames[i]!.pts)
  t.ok(steps.every((s) => Math.abs(s - 1 / FPS) < 0.002), `frames 1/30 s apart: none missing (steps ${[...new Set(steps.map((s) => s.toFixed(4)))].join(', ')})`)
  // The response starts at the latest keyframe (up to one GOP, a second here, of history) and then runs live.
  const live = seconds * FPS
  t.ok(frames.length >= live * 0.8 && frames.length <= live + FPS + 5, `${frames.length} frames in ${seconds.toFixed(2)} s at ${FPS} fps (live ${live.toFixed(0)} + at most one GOP of history)`)
  // The prft boxes: NTP times when heart received each frame, within the time the test watched.
  const first = prfts[0]!
  const ntp = body.readUInt32BE(first.at + 16) + body.readUInt32BE(first.at + 20) / 2 ** 32
  const receivedMs = (ntp - 2_208_988_800) * 1000
  const ageMs = Date.now() - receivedMs
  t.ok(ageMs > 0 && ageMs < (performance.now() - requestedAt) + 1500, `the first fragment's prft says heart received it ${ageMs.toFixed(0)} ms ago`)

  // A second viewing, after the worker went idle: it starts at a keyframe of now, not at what
  // the fragment ring still holds from the first one.
  await new Promise((r) => setTimeout(r, 3000))
  const again = await fetchFor(port, '/live.mp4', 1000)
  const againBoxes = topLevelBoxes(again.body)
  const againPrft = againBoxes.find((b) => b.type === 'prft')!
  const againMs = Date.now() - ((again.body.readUInt32BE(againPrft.at + 16) + again.body.readUInt32BE(againPrft.at + 20) / 2 ** 32 - 2_208_988_800) * 1000)
  t.same(againBoxes.slice(0, 2).map((b) => b.type), ['ftyp', 'moov'], 'the second viewing starts with the init segment')
  t.ok(againMs < 1000 + 1000 + 500, `its first fragment was received ${againMs.toFixed(0)} ms ago: at most one GOP before the request, not the first viewing's`)

  await new Promise((r) => setTimeout(r, 300))
  const after = heart.report() as unknown as { live_mp4: { viewers: number; fragments_made: number; skipped: number } }
  t.equal(after.live_mp4.viewers, 0, 'the viewer left')
  t.ok(after.live_mp4.fragments_made >= frames.length, `health: ${after.live_mp4.fragments_made} fragments made`)
  t.equal(after.live_mp4.skipped, 0, 'a viewer that reads keeps up: nothing skipped')
})

t.test('live.mp4 of a camera with no compressed stream answers 503 with the reason, and heart runs on', async (t) => {
  const dir = t.testdir({})
  const config = join(dir, 'heart.yaml')
  writeFileSync(config, ['source: "synthetic://?size=160x120&fps=30"', 'http: { port: 0 }', 'thermal: { enabled: false }', 'consumers: []', ''].join('\n'))
  const heart = await runHeart({ configFile: config, status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  await new Promise((r) => setTimeout(r, 500))
  const res = await fetch(`http://127.0.0.1:${heart.http.port}/cameras/main/live.mp4`)
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '2')
  t.match(((await res.json()) as { error: string }).error, /not available: the camera has sent no compressed stream/)
})

t.test('http.livePassthrough: false serves no live.mp4', async (t) => {
  const dir = t.testdir({})
  const config = join(dir, 'heart.yaml')
  writeFileSync(config, ['source: "testsrc://?size=160x120&fps=30"', 'http: { port: 0, livePassthrough: false }', 'thermal: { enabled: false }', 'consumers: []', ''].join('\n'))
  const heart = await runHeart({ configFile: config, status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  const res = await fetch(`http://127.0.0.1:${heart.http.port}/cameras/main/live.mp4`)
  t.equal(res.status, 404, 'no route')
  await res.body?.cancel()
  t.equal(heart.capture.packets, null, 'and no packet ring: recording is off too')
})
