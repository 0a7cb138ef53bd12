// The adapter over @heart/native: options it passes, probe output, and
// decoding real files through it (no RTSP server needed).
import t from 'tap'
import { clip } from './support/media.js'
import { startRtspServer } from './support/rtsp-server.js'
import { formatProbe, nativeOpener, nativeOptions, probeSource } from '../src/native-source.js'
import { nativeSpec, parseSource } from '../src/sources/registry.js'
import type { OpenRequest } from '../src/decoder.js'

const expect = { maxSize: { width: 640, height: 360 } }

function request(url: string, extra: Partial<OpenRequest> = {}): OpenRequest {
  return { spec: parseSource(url), pixFmt: 'yuv420p', expect, timeoutMs: 5000, decodeThreads: 2, decoder: 'software', ...extra }
}

t.test('native options carry the expectation; the native spec carries transport and file flags', async (t) => {
  const udp = request('rtsp://cam/s?transport=udp', { expect: { codec: 'hevc', maxSize: { width: 1280, height: 720 } } })
  t.same(nativeOptions(udp), {
    decoder: 'software', output: { pixFmt: 'yuv420p' }, maxWidth: 1280, maxHeight: 720, timeoutMs: 5000, threads: 2, expectCodec: 'hevc', packets: false,
  })
  t.equal(nativeOptions({ ...udp, packets: true }).packets, true, 'the packet tap is asked for only when the packet ring exists')
  t.match(nativeSpec(udp.spec), { kind: 'rtsp', transport: 'udp' })
  const reorder = nativeSpec(request('rtsp://cam/s?transport=udp&reorderMs=0&channel=1').spec)
  t.match(reorder, { kind: 'rtsp', transport: 'udp', reorderMs: 0, target: 'rtsp://cam/s?channel=1' }, 'reorderMs goes to the crate, not to the camera')
  t.match(nativeSpec(request('file:///a.mp4?loop=1').spec), { kind: 'file', loop: true, realtime: false })
  t.notOk('transport' in nativeSpec(request('testsrc://').spec)!)
})

t.test('decoding a file: frames, end of stream, and frames the decoder drops counted as errors', async (t) => {
  const [clean, corrupt] = await Promise.all([
    clip({ codec: 'h264', width: 640, height: 360, fps: 30, seconds: 20 }),
    clip({ codec: 'h264', width: 640, height: 360, fps: 30, seconds: 20, corruptEvery: 10 }),
  ])
  const open = await nativeOpener()
  const ac = new AbortController()
  for (const [file, wantErrors] of [[clean, false], [corrupt, true]] as const) {
    const src = await open(request(`file://${file}`), ac.signal)
    t.match(src.info, { codec: 'h264', width: 640, height: 360, fps: 30, pixFmt: 'yuv420p', frameBytes: 640 * 360 * 3 / 2 })
    const dst = new Uint8Array(src.info.frameBytes!)
    let frames = 0
    let errors = 0
    let prev = -1n
    let ordered = true
    for (let f = await src.read(dst, ac.signal); f; f = await src.read(dst, ac.signal)) {
      frames++
      errors += f.decodeErrors
      if (f.captureTsNs <= prev) ordered = false
      prev = f.captureTsNs
      if (frames === 1) t.match(f, { width: 640, height: 360, pixFmt: 'yuv420p', keyframe: true })
    }
    src.close()
    t.ok(ordered, 'capture stamps increase')
    if (wantErrors) {
      t.ok(errors > 0, `${errors} dropped frames counted as decode errors`)
      t.ok(frames + errors >= 590 && frames + errors <= 600, `delivered ${frames} + counted ${errors} accounts for the clip's 600 frames`)
    } else {
      t.equal(frames, 600, 'every frame of a clean clip')
      t.equal(errors, 0)
    }
  }
})

t.test('open failures keep the native code and lose credentials', async (t) => {
  const open = await nativeOpener()
  await t.rejects(open(request('file:///no/such/clip.mp4'), new AbortController().signal), { code: 'STREAM_NOT_FOUND' })
  const big = await clip({ codec: 'h264', width: 1280, height: 720, fps: 30, seconds: 5 })
  await t.rejects(open(request(`file://${big}`), new AbortController().signal), { code: 'FORMAT_MISMATCH', message: /1280x720/ })
})

t.test('probeSource prints what heart probe shows, for H.264 and H.265 over RTSP', async (t) => {
  const [h264, h265] = await Promise.all((['h264', 'hevc'] as const).map((codec) => clip({ codec, width: 640, height: 360, fps: 30, seconds: 20 })))
  const server = await startRtspServer({ mounts: { '/a': h264!, '/b': h265! } })
  t.teardown(() => server.stop())
  const a = await probeSource(server.url('/a', 'admin:hunter2'))
  t.match(a, { codec: 'h264', width: 640, height: 360, fps: 30, pixFmt: 'yuv420p', backend: 'software' })
  t.match(a.source, /^rtsp:\/\/\*\*\*@127.0.0.1/)
  const text = formatProbe(a)
  t.match(text, /codec\s+h264/)
  t.match(text, /size\s+640x360/)
  t.match(text, /rate\s+30 fps/)
  t.match(text, /pixel format\s+yuv420p/)
  t.match(text, /backend\s+software/)
  t.notMatch(text, /hunter2|admin/)
  t.match(await probeSource(server.url('/b')), { codec: 'hevc', width: 640, height: 360 })
  const err = (await probeSource(server.url('/missing', 'admin:hunter2')).then(() => null, (e: unknown) => e)) as { code: string; message: string }
  t.match(err, { code: 'STREAM_NOT_FOUND' })
  t.notMatch(err.message, /hunter2/)
  await t.rejects(probeSource('synthetic://'), { code: 'INVALID_SOURCE' })
  await t.rejects(probeSource('rstp://x'), { code: 'INVALID_SOURCE', message: /Did you mean rtsp/ })
})

t.test('formatProbe without a rate, with duration and bit rate', async (t) => {
  const text = formatProbe({ source: 'file:///a.mp4', codec: 'h264', width: 2, height: 2, fps: null, pixFmt: 'yuv420p', backend: 'software', fallbackReason: 'no vaapi', durationMs: 1500, bitRate: 2_000_000 })
  t.match(text, /not announced/)
  t.match(text, /hardware\s+not used: no vaapi/)
  t.match(formatProbe({ source: 's', codec: 'h264', width: 2, height: 2, fps: 30, pixFmt: 'yuv420p', backend: 'software', fallbackReason: 'software decoding: vaapi: none', durationMs: null, bitRate: null }), /hardware\s+not used: vaapi: none$/)
  t.match(text, /duration\s+1.5 s/)
  t.match(text, /bit rate\s+2.00 Mbit\/s/)
})

t.test('packets asked for: the opened source hands over H.264 records with its parameter sets', async (t) => {
  const open = await nativeOpener()
  const opened = await open(request('testsrc://?size=320x240&fps=30', { packets: true }), new AbortController().signal)
  t.teardown(() => opened.close())
  t.ok(opened.packets, 'a packet source')
  t.equal(opened.packets!.codec, 'h264')
  const dst = new Uint8Array(opened.info.frameBytes!)
  for (let i = 0; i < 3; i++) await opened.read(dst, new AbortController().signal)
  const config = opened.packets!.codecConfig()
  t.ok(config && config.length > 8, 'parameter sets known after the first frames')
  const records = new Uint8Array(1 << 20)
  const batch = opened.packets!.take(records)
  t.ok(batch.count >= 3, `${batch.count} packets for 3 frames`)
  const first = new DataView(records.buffer).getUint32(0, true)
  t.ok(first > 0 && first < batch.bytes, 'the first record names its payload size')
  const payload = records.subarray(opened.packets!.headerBytes, opened.packets!.headerBytes + 4)
  t.ok(payload[0] === 0 && payload[1] === 0 && (payload[2] === 1 || (payload[2] === 0 && payload[3] === 1)), 'Annex B: a start code first')

  const plain = await open(request('testsrc://?size=320x240&fps=30'), new AbortController().signal)
  t.teardown(() => plain.close())
  t.equal(plain.packets, undefined, 'no packets unless asked for')
})
