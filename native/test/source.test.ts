// Source behaviour: the test camera, timestamps, rate cap, renegotiation,
// stable error codes, credentials kept out of messages, and interruption.
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { createServer, type Socket } from 'node:net'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monotonicNs, probe, Source, type SourceSpec } from '@heart/native'
import { fileSpec, makeClip, makeDamagedClip, rtspSpec, tempDir, testSpec } from './media.js'
import { startRtspServer } from './rtsp.js'

// The test camera's clips go to a private cache so tests never depend on (or fill) ~/.cache.
const cache = mkdtempSync(join(tmpdir(), 'heart-cache-'))
process.env.HEART_CACHE_DIR = cache
t.teardown(() => rmSync(cache, { recursive: true, force: true }))

/** Reads the 16-bit frame counter the test camera draws as blocks along the top of the Y plane. */
function counter(y: Uint8Array, width: number): number {
  const block = Math.floor(width / 16)
  let value = 0
  for (let bit = 0; bit < 16; bit++) value = (value << 1) | (y[bit * block + (block >> 1)]! > 128 ? 1 : 0)
  return value
}

/** A TCP server that accepts connections and never answers: a hung camera. */
async function silentServer(t: { teardown(fn: () => void): void }): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createServer((s) => sockets.add(s))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return (server.address() as { port: number }).port
}

t.test('monotonicNs is the clock of process.hrtime.bigint()', async (t) => {
  const a = process.hrtime.bigint()
  const n = monotonicNs()
  const b = process.hrtime.bigint()
  t.ok(a <= n && n <= b, `${a} <= ${n} <= ${b}`)
})

t.test('the test camera: generated once, real H.264, frames in order, stamped', async (t) => {
  const url = testSpec({ width: 320, height: 240, fps: 30 })
  const info = await probe(url)
  t.equal(info.codec, 'h264')
  t.equal(info.width, 320)
  t.equal(info.height, 240)
  t.equal(info.fps, 30)
  t.equal(info.backend, 'software')
  t.match(readdirSync(cache).join(' '), /testsrc-v2-h264-320x240-30fps-2s\.mp4/, 'the clip is cached')

  const source = await Source.open(url, { output: { pixFmt: 'gray' } })
  t.teardown(() => source.close())
  t.equal(source.info.pixFmt, 'gray')
  t.equal(source.info.planes.length, 1)
  const dst = new Uint8Array(new SharedArrayBuffer(source.info.byteLength))
  let previous: bigint | undefined
  const counters: number[] = []
  for (let i = 0; i < 4; i++) {
    const before = monotonicNs()
    const f = await source.readInto(dst)
    const after = monotonicNs()
    t.equal(f.seq, BigInt(i + 1))
    t.ok(f.captureTsNs <= f.decodeTsNs, 'captured before decoded')
    t.ok(f.decodeTsNs <= after, 'decoded before the promise resolved')
    t.ok(i === 0 || f.captureTsNs >= before, 'a paced frame is received during its own call')
    if (previous !== undefined) t.ok(f.captureTsNs > previous, 'capture times increase')
    previous = f.captureTsNs
    counters.push(counter(dst, 320))
  }
  // Gray from limited-range YUV is range-expanded, which keeps the blocks far apart.
  t.same(counters, [0, 1, 2, 3], 'the frames arrive in order, none skipped')
})

t.test('the test camera loops with increasing timestamps', async (t) => {
  const hevc = await Source.open(testSpec({ width: 192, height: 108, fps: 10, seconds: 1, codec: 'hevc', realtime: false }))
  t.equal(hevc.info.codec, 'hevc', 'an HEVC test camera works too')
  await hevc.readInto(new Uint8Array(hevc.info.byteLength))
  hevc.close()
  const source = await Source.open(testSpec({ width: 192, height: 108, fps: 10, seconds: 1, realtime: false }))
  t.teardown(() => source.close())
  const dst = new Uint8Array(source.info.byteLength)
  const pts: number[] = []
  for (let i = 0; i < 25; i++) pts.push((await source.readInto(dst)).ptsUs ?? NaN)
  t.ok(pts.every((p, i) => i === 0 || p > pts[i - 1]!), 'pts keeps increasing across two loop points')
  t.equal(Math.round(pts[20]! - pts[0]!), 2_000_000, '20 frames at 10 fps span 2 s of stream time')
})

t.test('fpsCap delivers at most that rate and counts the rest', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'c.mp4', { fps: 30, frames: 30 })
  const source = await Source.open(fileSpec(clip), { fpsCap: 10 })
  t.teardown(() => source.close())
  const dst = new Uint8Array(source.info.byteLength)
  const pts: number[] = []
  let skipped = 0
  for (;;) {
    try {
      const f = await source.readInto(dst)
      pts.push(f.ptsUs!)
      skipped += f.rateLimited
    } catch (e) {
      t.equal((e as { code: string }).code, 'END_OF_STREAM')
      break
    }
  }
  t.equal(pts.length, 10, '30 frames at 30 fps capped to 10 fps')
  // Frames 28 and 29 are skipped too, but no delivered frame follows to report them.
  t.equal(skipped, 18, 'every skipped frame before the last delivered one is counted')
  t.ok(pts.every((p, i) => i === 0 || p - pts[i - 1]! >= 99_000), 'delivered frames are >= 1/10 s apart')
})

t.test('a stream that changes size mid-session is renegotiated, never overrun', async (t) => {
  const dir = tempDir(t)
  const small = makeClip(dir, 'a.ts', { size: '160x120', frames: 3 })
  const large = makeClip(dir, 'b.ts', { size: '320x240', frames: 3 })
  const joined = join(dir, 'joined.ts')
  writeFileSync(joined, Buffer.concat([readFileSync(small), readFileSync(large)])) // a new SPS mid-stream
  const source = await Source.open(fileSpec(joined))
  t.teardown(() => source.close())
  t.equal(source.info.width, 160)
  let dst = new Uint8Array(source.info.byteLength)
  const sizes: string[] = []
  let reconfigurations = 0
  for (let i = 0; i < 7; i++) {
    const f = await source.readInto(dst).catch((e: { code: string }) => e)
    if ('code' in f) {
      t.equal(f.code, 'END_OF_STREAM')
      break
    }
    if (f.reconfigured) {
      reconfigurations++
      t.equal(source.info.width, 320, 'info describes the new frames')
      t.equal(source.info.byteLength, 320 * 240 + 2 * 192 * 120, 'chroma rows of 160 bytes pad to 192')
      await t.rejects(source.readInto(dst), { code: 'BUFFER_TOO_SMALL' }, 'the old slot is refused, not overrun')
      dst = new Uint8Array(source.info.byteLength)
      continue
    }
    sizes.push(`${source.info.width}x${source.info.height}`)
  }
  t.equal(reconfigurations, 1)
  t.same(sizes, ['160x120', '160x120', '160x120', '320x240', '320x240', '320x240'], 'no frame lost at the switch')
})

t.test('a damaged frame is dropped and counted; the stream goes on', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'c.ts', { frames: 60, extra: ['-g', '30', '-bf', '0'] })
  const data = readFileSync(clip)
  const packets = Math.floor(data.length / 188)
  // Flip payload bits in three transport packets (headers intact): the
  // decoder conceals the damage in the frames they belong to.
  for (const p of [Math.floor(packets / 3), Math.floor(packets / 2), Math.floor((2 * packets) / 3)]) {
    for (let i = p * 188 + 40; i < (p + 1) * 188; i += 3) data[i]! ^= 0x5a
  }
  const damaged = join(dir, 'damaged.ts')
  writeFileSync(damaged, data)
  const readAll = async (dropCorrupt: boolean) => drain(await Source.open(fileSpec(damaged), { dropCorrupt }), t)
  const dropped = await readAll(true)
  t.ok(dropped.errors > 0, `damaged frames are counted (${dropped.errors})`)
  t.equal(dropped.corrupt, 0, 'no damaged frame is delivered by default')
  t.equal(dropped.delivered + dropped.errors, 60, 'every frame is delivered or counted')
  const kept = await readAll(false)
  t.ok(kept.corrupt > 0, 'with dropCorrupt: false concealed frames arrive flagged corrupt')
  t.equal(kept.delivered, dropped.delivered + kept.corrupt, 'each flagged frame is one the default drops')
  t.equal(kept.errors, dropped.errors, 'and is counted the same way')
})

/**
 * Reads a source to its end: frames delivered, decode errors and corrupt
 * flags seen. With `t`, ending on anything but END_OF_STREAM is a failed
 * assertion; without, it is thrown.
 */
async function drain(s: Source, t?: Test) {
  const dst = new Uint8Array(new SharedArrayBuffer(s.info.byteLength))
  let delivered = 0
  let errors = 0
  let corrupt = 0
  for (;;) {
    const f = await s.readInto(dst).catch((e: { code: string }) => e)
    if ('code' in f) {
      if (t) t.equal(f.code, 'END_OF_STREAM', 'the stream is read to its end')
      else if (f.code !== 'END_OF_STREAM') throw f
      break
    }
    delivered++
    errors += f.decodeErrors
    if (f.corrupt) corrupt++
  }
  s.close()
  return { delivered, errors, corrupt }
}

t.test('frames the decoder swallows without an error are counted too', async (t) => {
  const dir = tempDir(t)
  // 90 frames; the last damaged slice is well before the end (a frame lost at
  // the very end has no later frame to reveal it, and END_OF_STREAM carries no count).
  const { path, damaged } = makeDamagedClip(dir, 'damaged.mp4', { frames: 90, every: 6 })
  t.ok(damaged >= 10, `${damaged} P-frames damaged`)
  const dropped = await drain(await Source.open(fileSpec(path)))
  t.ok(dropped.delivered < 90, `${90 - dropped.delivered} frames not delivered`)
  t.equal(dropped.delivered + dropped.errors, 90, 'each frame is delivered or counted in decodeErrors, once')
  const kept = await drain(await Source.open(fileSpec(path), { dropCorrupt: false }))
  t.equal(kept.delivered + kept.errors - kept.corrupt, 90, 'with dropCorrupt: false, concealed frames are delivered (and counted), swallowed ones counted')
})

t.test('expectations are checked at open and name both sides', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'c.mp4', { size: '320x240', frames: 2 })
  await t.rejects(Source.open(fileSpec(clip), { expectCodec: 'hevc' }), {
    code: 'FORMAT_MISMATCH',
    message: /sends h264 but the configuration expects hevc/,
  })
  await t.rejects(Source.open(fileSpec(clip), { maxWidth: 160, maxHeight: 120 }), {
    code: 'FORMAT_MISMATCH',
    message: /320x240, beyond the configured maximum 160x120/,
  })
  const mpeg4 = makeClip(dir, 'm.mp4', { codec: 'mpeg4', frames: 2 })
  await t.rejects(Source.open(fileSpec(mpeg4)), { code: 'UNSUPPORTED_CODEC', message: /sends mpeg4/ })
  await t.rejects(Source.open(fileSpec(clip), { output: { crop: { x: 0, y: 0, width: 640, height: 480 } } }), {
    code: 'FORMAT_MISMATCH',
  })
  const s = await Source.open(fileSpec(clip), { expectCodec: 'h264', maxWidth: 320, maxHeight: 240 })
  s.close()
  t.equal(s.closed, true)
})

t.test('asking for hardware that is not there falls back to software and says why', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'c.mp4', { frames: 2 })
  const s = await Source.open(fileSpec(clip), { decoder: 'vaapi' })
  t.teardown(() => s.close())
  if (s.info.backend === 'vaapi') {
    t.pass('this machine has VAAPI')
    return
  }
  t.equal(s.info.backend, 'software')
  t.match(s.info.fallbackReason, /vaapi/)
})

t.test('bad input gets INVALID_ARGUMENT with a clear message', async (t) => {
  // @ts-expect-error an unknown kind, as plain JS could pass
  await t.rejects(Source.open({ kind: 'gopher', target: 'x/y', redacted: 'gopher://x/y' }), { code: 'INVALID_ARGUMENT', message: /rtsp:\/\/, file:\/\// })
  await t.rejects(Source.open(fileSpec('relative.mp4')), { code: 'INVALID_ARGUMENT', message: /three slashes/ })
  // @ts-expect-error an unknown pixel format, as plain JS could pass
  await t.rejects(Source.open(testSpec(), { output: { pixFmt: 'rgba' } }), { code: 'INVALID_ARGUMENT' })
  await t.rejects(Source.open(testSpec(), { output: { crop: { x: 1, y: 0, width: 8, height: 8 } } }), {
    code: 'INVALID_ARGUMENT',
    message: /even/,
  })
  await t.rejects(Source.open(testSpec({ width: 1, height: 1 })), { code: 'INVALID_ARGUMENT' })
  await t.rejects(Source.open(fileSpec('/definitely/not/here.mp4')), { code: 'STREAM_NOT_FOUND' })
  const v4l2 = (device: string, format: string) => ({ kind: 'v4l2', target: device, redacted: `v4l2://${device}`, format }) as SourceSpec
  await t.rejects(Source.open(v4l2('/dev/video-heart-none', 'mjpeg')), { code: 'STREAM_NOT_FOUND', message: /check the path/ })
  await t.rejects(Source.open(v4l2('/dev/video0', 'rgb')), { code: 'INVALID_ARGUMENT', message: /mjpeg, yuyv or h264/ })
  await t.rejects(Source.open(testSpec({ transport: 'sctp' as 'tcp' })), { code: 'INVALID_ARGUMENT' })
  await t.rejects(Source.open(rtspSpec('rtsp://cam/live', { transport: 'sctp' as 'tcp' })), { code: 'INVALID_ARGUMENT', message: /use tcp or udp/ })
  await t.rejects(Source.open(testSpec({ codec: 'h266' as 'hevc' })), { code: 'INVALID_ARGUMENT', message: /h264 or hevc/ })
  await t.rejects(Source.open(fileSpec('/a.mp4', { codec: 'hevc' })), { code: 'INVALID_ARGUMENT', message: /takes loop, realtime, not codec/ })
  await t.rejects(Source.open(testSpec(), { fpsCap: 0 }), { code: 'INVALID_ARGUMENT' })
})

t.test('one read at a time; a too-small buffer is refused untouched', async (t) => {
  const s = await Source.open(testSpec({ width: 320, height: 240, fps: 30 }))
  t.teardown(() => s.close())
  const small = new Uint8Array(100).fill(7)
  await t.rejects(s.readInto(small), { code: 'BUFFER_TOO_SMALL', message: /source\.info\.byteLength/ })
  t.ok(small.every((b) => b === 7), 'nothing was written')
  const dst = new Uint8Array(s.info.byteLength)
  t.equal((await s.readInto(dst)).seq, 1n, 'the frame held back by the refused read is delivered next')
  // The next frame is paced (~33 ms away), so of two overlapping calls one must wait: it is refused.
  const results = await Promise.allSettled([s.readInto(dst), s.readInto(new Uint8Array(s.info.byteLength))])
  const refused = results.filter((r) => r.status === 'rejected')
  t.equal(refused.length, 1, 'exactly one of two overlapping reads is refused')
  t.equal(((refused[0] as PromiseRejectedResult).reason as { code: string }).code, 'BUSY')
})

t.test('an aborted signal passed to readInto closes the source', async (t) => {
  const s = await Source.open(testSpec({ width: 320, height: 240, fps: 30 }))
  const dst = new Uint8Array(s.info.byteLength)
  await s.readInto(dst, new AbortController().signal)
  const pending = new AbortController()
  const reading = s.readInto(dst, pending.signal)
  pending.abort()
  await t.rejects(reading, { code: 'ABORTED' }, 'aborting during a read')
  t.equal(s.closed, true)
  await t.rejects(s.readInto(dst), { code: 'CLOSED' })
  const other = await Source.open(testSpec({ width: 320, height: 240, fps: 30 }))
  await t.rejects(other.readInto(dst, AbortSignal.abort()), { code: 'ABORTED' }, 'an already aborted signal')
  t.equal(other.closed, true)
})

t.test('credentials never appear in errors or info', async (t) => {
  const port = await silentServer(t)
  const refused = 'rtsp://admin:hunter2@127.0.0.1:1/stream'
  const err = await Source.open(rtspSpec(refused), { timeoutMs: 3000 }).catch((e: Error & { code: string }) => e)
  t.equal((err as { code: string }).code, 'CONNECT_REFUSED')
  t.notMatch(String((err as Error).message), /hunter2|admin/)
  t.match(String((err as Error).message), /rtsp:\/\/\*\*\*@127\.0\.0\.1:1\/stream/)
  const timeout = await Source.open(rtspSpec(`rtsp://admin:hunter2@127.0.0.1:${port}/x?password=p2`), { timeoutMs: 300 }).catch(
    (e: Error & { code: string }) => e,
  )
  t.equal((timeout as { code: string }).code, 'TIMEOUT')
  t.notMatch(String((timeout as Error).message), /hunter2|admin|p2/)
})

t.test('an open stuck on a hung camera is aborted within a second', async (t) => {
  const port = await silentServer(t)
  const controller = new AbortController()
  const opening = Source.open(rtspSpec(`rtsp://127.0.0.1:${port}/live`), { timeoutMs: 60_000 }, controller.signal)
  await new Promise((r) => setTimeout(r, 300))
  const abortedAt = performance.now()
  controller.abort()
  await t.rejects(opening, { code: 'ABORTED' })
  const ms = performance.now() - abortedAt
  t.ok(ms < 1000, `open returned ${ms.toFixed(0)} ms after the abort`)
  await t.rejects(Source.open(testSpec(), {}, controller.signal), { code: 'ABORTED' }, 'an aborted signal refuses at once')
})

t.test('RTSP: TCP and UDP, auth failure, a stalled camera is closed within a second', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'cam.mp4', { size: '320x240', fps: 30, frames: 300, extra: ['-g', '30', '-bf', '0'] })
  const server = await startRtspServer(t, clip)
  const info = await probe(rtspSpec(server.url))
  t.equal(info.codec, 'h264')
  t.equal(info.width, 320)

  const udp = await Source.open(rtspSpec(server.url, { transport: 'udp' }), { timeoutMs: 5000 })
  const udpFrame = await udp.readInto(new Uint8Array(udp.info.byteLength))
  t.equal(udpFrame.seq, 1n, 'UDP transport delivers frames')
  udp.close()

  const source = await Source.open(rtspSpec(server.url), { timeoutMs: 30_000 })
  t.teardown(() => source.close())
  const dst = new Uint8Array(new SharedArrayBuffer(source.info.byteLength))
  for (let i = 0; i < 3; i++) await source.readInto(dst)
  // Freeze the server: the TCP connection stays up but no data comes.
  process.kill(server.child.pid!, 'SIGSTOP')
  // Frames already buffered (the open's stream analysis, the socket) still
  // arrive; the first read that waits is the hung one.
  let pending = source.readInto(dst)
  const waited = (p: Promise<unknown>) => Promise.race([p.then(() => false, () => false), new Promise((r) => setTimeout(() => r(true), 400))])
  for (let i = 0; i < 30 && !(await waited(pending)); i++) pending = source.readInto(dst)
  const closedAt = performance.now()
  source.close()
  await t.rejects(pending, { code: 'ABORTED' })
  const ms = performance.now() - closedAt
  t.ok(ms < 1000, `the hung read returned ${ms.toFixed(0)} ms after close()`)
  process.kill(server.child.pid!, 'SIGCONT')

  const secured = await startRtspServer(t, clip, { user: 'op', password: 's3cret' })
  const wrong = secured.url.replace('rtsp://', 'rtsp://op:wrong@')
  await t.rejects(Source.open(rtspSpec(wrong), { timeoutMs: 5000 }), { code: 'AUTH_FAILED', message: /rtsp:\/\/\*\*\*@/ })
  const right = await Source.open(rtspSpec(secured.url.replace('rtsp://', 'rtsp://op:s3cret@')), { timeoutMs: 5000 })
  t.notMatch(right.info.url, /s3cret/)
  right.close()
})


t.test('RTSP: every frame from the first keyframe on, codec, size and rate found by a short analysis', async (t) => {
  const dir = tempDir(t)
  /** A digest of every frame `url` delivers, in order. */
  async function digests(spec: SourceSpec): Promise<string[]> {
    const source = await Source.open(spec, { timeoutMs: 10_000 })
    const dst = new Uint8Array(new SharedArrayBuffer(source.info.byteLength))
    const out: string[] = []
    for (;;) {
      const f = await source.readInto(dst).catch((e: { code: string }) => e)
      if ('code' in f) {
        t.equal(f.code, 'END_OF_STREAM')
        break
      }
      out.push(createHash('sha1').update(dst).digest('hex'))
    }
    source.close()
    return out
  }
  const clips = {
    h264: makeClip(dir, 'cam264.mp4', { fps: 30, frames: 60, extra: ['-g', '30', '-bf', '0'] }),
    hevc: makeClip(dir, 'cam265.mp4', { fps: 30, frames: 60, codec: 'libx265', extra: ['-x265-params', 'log-level=error:bframes=0:keyint=30', '-tag:v', 'hvc1'] }),
  }
  for (const [codec, clip] of Object.entries(clips)) {
    const server = await startRtspServer(t, clip)
    const started = performance.now()
    const info = await probe(rtspSpec(server.url), { timeoutMs: 10_000 })
    t.comment(`${codec}: RTSP probe (open, analysis, first frame decoded, close) ${(performance.now() - started).toFixed(0)} ms`)
    t.equal(info.codec, codec)
    t.equal(info.width, 320)
    t.equal(info.fps, 30, `${codec}: the rate is known after the short analysis`)
    const expected = await digests(fileSpec(clip))
    t.equal(expected.length, 60)
    t.same(await digests(rtspSpec(server.url)), expected, `${codec}: the same 60 frames as the file, the ones read during the analysis included`)
  }

  const damaged = makeDamagedClip(dir, 'damaged.mp4', { frames: 90, every: 6 })
  const bad = await startRtspServer(t, damaged.path)
  const counted = await drain(await Source.open(rtspSpec(bad.url), { timeoutMs: 10_000 }))
  t.ok(counted.delivered < 90, `${90 - counted.delivered} frames not delivered`)
  t.equal(counted.delivered + counted.errors, 90, 'over RTSP too, each frame is delivered or counted')
})
