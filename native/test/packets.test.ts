// The packet tap: the compressed packets the decoder gets, in Annex B, with
// the timeline and receipt stamps of the frames decoded from them.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PACKET_RECORD_HEADER_BYTES, Source, type FrameInfo } from '@heart/native'
import { fileSpec, makeClip, rtspSpec, tempDir, testSpec } from './media.js'
import { drain, nalTypes, parseRecords, startsWithStartCode } from './packets.js'
import { startRtspServer } from './rtsp.js'

const cache = mkdtempSync(join(tmpdir(), 'heart-cache-'))
process.env.HEART_CACHE_DIR = cache
t.teardown(() => rmSync(cache, { recursive: true, force: true }))

async function readFrames(source: Source, n: number): Promise<FrameInfo[]> {
  const dst = new Uint8Array(source.info.byteLength)
  const frames: FrameInfo[] = []
  for (let i = 0; i < n; i++) frames.push(await source.readInto(dst))
  return frames
}

for (const codec of ['h264', 'hevc'] as const) {
  t.test(`${codec}: every packet in Annex B, stamped like its frame, across file loops`, async (t) => {
    // A 1 s clip at 10 fps: 25 frames cross two loop points.
    const source = await Source.open(testSpec({ codec, width: 192, height: 108, fps: 10, seconds: 1, realtime: false }), {
      packets: true,
    })
    t.teardown(() => source.close())
    t.equal(source.info.packets, true, 'the tap runs')
    const config = source.info.codecConfig
    t.ok(config instanceof Buffer, 'codecConfig is a Buffer')
    t.ok(startsWithStartCode(config!), 'codecConfig is Annex B')
    t.same(nalTypes(config!, codec), codec === 'h264' ? [7, 8] : [32, 33, 34], 'parameter sets: SPS, PPS (VPS first for HEVC)')

    const frames = await readFrames(source, 25)
    const packets = drain(source)
    t.ok(packets.length >= 25 && packets.length <= 29, `about one packet per frame (${packets.length} for 25 frames)`)
    t.ok(packets[0]!.keyframe, 'the first packet is a keyframe')
    t.ok(packets.every((p) => startsWithStartCode(p.data)), 'every packet starts with a start code')
    const sps = codec === 'h264' ? 7 : 33
    const keyframes = packets.filter((p) => p.keyframe)
    t.ok(keyframes.length >= 3, `a keyframe per loop (${keyframes.length})`)
    t.ok(keyframes.every((p) => nalTypes(p.data, codec).includes(sps)), 'each keyframe carries its SPS in band')
    t.ok(packets.every((p, i) => i === 0 || p.dtsUs > packets[i - 1]!.dtsUs), 'dts keeps increasing across the loops')
    t.ok(packets.every((p, i) => i === 0 || p.captureTsNs >= packets[i - 1]!.captureTsNs), 'receipt stamps in order')
    t.ok(packets.every((p) => Math.abs(p.durationUs - 100_000) < 1), 'each packet lasts 1/10 s')
    const byCapture = new Map(packets.map((p) => [p.captureTsNs, p]))
    const unmatched = frames.filter((f) => {
      const p = byCapture.get(f.captureTsNs)
      return p === undefined || Math.abs(p.ptsUs - f.ptsUs!) > 1
    })
    t.same(unmatched, [], "each frame's captureTsNs finds the packet it was decoded from, with the same pts")
    t.equal(Math.round(frames[20]!.ptsUs! - frames[0]!.ptsUs!), 2_000_000, 'the frames span 2 s of the same timeline')
    t.same(source.takePackets(new Uint8Array(64)), { count: 0, bytes: 0, overflowed: 0, pending: 0, needBytes: 0 }, 'drained')
  })
}

t.test('a destination too small for the next record says how much it needs', async (t) => {
  const source = await Source.open(testSpec({ width: 192, height: 108, fps: 10, realtime: false }), { packets: true })
  t.teardown(() => source.close())
  await readFrames(source, 2)
  const small = source.takePackets(new Uint8Array(16))
  t.equal(small.count, 0, 'nothing written')
  t.ok(small.needBytes > 16, `needBytes ${small.needBytes}`)
  t.ok(small.pending >= 2, 'the packets stay queued')
  t.equal(small.needBytes % 8, 0, 'records are padded to 8 bytes')
  const exact = new Uint8Array(small.needBytes)
  const one = source.takePackets(exact)
  t.equal(one.count, 1, 'a buffer of needBytes takes that record')
  t.equal(one.bytes, small.needBytes)
  t.equal(one.pending, small.pending - 1)
  const [record] = parseRecords(exact, one)
  t.ok(record!.keyframe && record!.data.length + PACKET_RECORD_HEADER_BYTES <= small.needBytes, 'the keyframe record')
})

t.test('takePackets() answers at once while a readInto() is pending', async (t) => {
  // Paced at 4 fps: a read waits ~250 ms for its frame, holding the pipeline.
  const source = await Source.open(testSpec({ width: 192, height: 108, fps: 4 }), { packets: true })
  t.teardown(() => source.close())
  const dst = new Uint8Array(source.info.byteLength)
  await source.readInto(dst) // the frame open() decoded
  const before = drain(source)
  const pending = source.readInto(dst)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const start = performance.now()
  const during = drain(source)
  const took = performance.now() - start
  t.ok(took < 20, `takePackets took ${took.toFixed(2)} ms during the read`)
  const frame = await pending
  const after = drain(source)
  const all = [...before, ...during, ...after]
  t.ok(all.some((p) => p.captureTsNs === frame.captureTsNs), "the pending read's packet arrives")
})

t.test('an undrained queue drops its oldest packets and counts them', async (t) => {
  const source = await Source.open(testSpec({ width: 96, height: 64, fps: 30, seconds: 1, realtime: false }), { packets: true })
  t.teardown(() => source.close())
  await readFrames(source, 600)
  const buf = new Uint8Array(8 << 20)
  const batch = source.takePackets(buf)
  t.ok(batch.count <= 512, `at most 512 kept (${batch.count})`)
  t.ok(batch.overflowed >= 600 - 512, `overflowed ${batch.overflowed} of ~600`)
  t.ok(batch.count + batch.overflowed + batch.pending >= 600, 'every packet is kept or counted')
  const kept = parseRecords(buf, batch)
  t.ok(kept.every((p, i) => i === 0 || p.dtsUs > kept[i - 1]!.dtsUs), 'the newest are kept, in order')
  await readFrames(source, 1)
  const next = source.takePackets(buf)
  t.equal(next.overflowed, 0, 'a drop is reported once')
  t.ok(next.count >= 1, 'packets flow again')
})

t.test('without packets: true, or for MJPEG, there is no tap; a closed source drops its queue', async (t) => {
  const plain = await Source.open(testSpec({ width: 96, height: 64, realtime: false }))
  t.teardown(() => plain.close())
  t.equal(plain.info.packets, false)
  t.equal(plain.info.codecConfig, null)
  await readFrames(plain, 2)
  t.equal(plain.takePackets(new Uint8Array(1 << 20)).count, 0)

  const dir = tempDir(t)
  const mjpeg = await Source.open(fileSpec(makeClip(dir, 'm.mkv', { codec: 'mjpeg', extra: ['-q:v', '5'] })), { packets: true })
  t.teardown(() => mjpeg.close())
  t.equal(mjpeg.info.packets, false, 'MJPEG has no compressed path')
  t.equal(mjpeg.info.codecConfig, null)

  const tapped = await Source.open(testSpec({ width: 96, height: 64, realtime: false }), { packets: true })
  await readFrames(tapped, 3)
  tapped.close()
  t.same(tapped.takePackets(new Uint8Array(1 << 20)), { count: 0, bytes: 0, overflowed: 0, pending: 0, needBytes: 0 })
})

t.test('a file with B-frames: dts in decode order, pts in presentation order', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'bframes.mp4', { fps: 30, frames: 30, extra: ['-bf', '2', '-g', '15'] })
  const source = await Source.open(fileSpec(clip), { packets: true })
  t.teardown(() => source.close())
  const dst = new Uint8Array(source.info.byteLength)
  for (;;) {
    const done = await source.readInto(dst).then(() => false, (e: { code: string }) => e.code === 'END_OF_STREAM')
    if (done) break
  }
  const packets = drain(source)
  t.equal(packets.length, 30, 'one packet per frame of the file')
  t.ok(packets.every((p, i) => i === 0 || p.dtsUs > packets[i - 1]!.dtsUs), 'dts strictly increases')
  t.ok(packets.some((p) => p.ptsUs !== p.dtsUs), 'reordered frames have pts after dts')
  t.ok(packets.every((p) => p.ptsUs >= p.dtsUs), 'never shown before decoded')
  t.ok(packets.every((p) => startsWithStartCode(p.data)), 'length prefixes became start codes')
})

for (const codec of ['h264', 'hevc'] as const) {
  t.test(`RTSP (${codec}): packets arrive in Annex B as they are, parameter sets from the SDP`, async (t) => {
    const dir = tempDir(t)
    const clip = codec === 'h264'
      ? makeClip(dir, 'cam264.mp4', { fps: 30, frames: 90, extra: ['-g', '30', '-bf', '0'] })
      : makeClip(dir, 'cam265.mp4', { fps: 30, frames: 90, codec: 'libx265', extra: ['-x265-params', 'log-level=error:bframes=0:keyint=30', '-tag:v', 'hvc1'] })
    const server = await startRtspServer(t, clip)
    const source = await Source.open(rtspSpec(server.url), { packets: true, timeoutMs: 5000 })
    t.teardown(() => source.close())
    t.equal(source.info.packets, true)
    t.same(nalTypes(source.info.codecConfig!, codec), codec === 'h264' ? [7, 8] : [32, 33, 34], 'codecConfig from the stream')
    const frames = await readFrames(source, 20)
    const packets = drain(source)
    t.ok(packets.length >= 20, `${packets.length} packets for 20 frames`)
    t.ok(packets.every((p) => startsWithStartCode(p.data)), 'Annex B')
    const byCapture = new Set(packets.map((p) => p.captureTsNs))
    t.ok(frames.every((f) => byCapture.has(f.captureTsNs)), "each frame's captureTsNs finds its packet")
    t.ok(packets.some((p) => p.keyframe), 'a keyframe among them')
  })
}
