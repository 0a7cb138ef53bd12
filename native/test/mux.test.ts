// Mp4Muxer: the test camera's own packets muxed into fragmented MP4 and
// counted frame by frame with ffprobe, whole and cut short after a fragment.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Mp4Muxer, Source } from '@heart/native'
import { fileSpec, makeClip, tempDir, testSpec } from './media.js'
import { drain, type Packet } from './packets.js'

const cache = mkdtempSync(join(tmpdir(), 'heart-cache-'))
process.env.HEART_CACHE_DIR = cache
t.teardown(() => rmSync(cache, { recursive: true, force: true }))

interface Probe {
  codec: string
  tag: string
  width: number
  height: number
  frames: number
  level: number
  tags: Record<string, string>
}

function ffprobe(path: string): Probe {
  const out = execFileSync('ffprobe', [
    '-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,codec_tag_string,width,height,nb_read_frames,level:format_tags',
    '-of', 'json', path,
  ], { encoding: 'utf8' })
  const json = JSON.parse(out) as { streams: Record<string, string | number>[]; format: { tags?: Record<string, string> } }
  const s = json.streams[0]!
  return {
    codec: String(s.codec_name),
    tag: String(s.codec_tag_string),
    width: Number(s.width),
    height: Number(s.height),
    frames: Number(s.nb_read_frames),
    level: Number(s.level),
    tags: json.format.tags ?? {},
  }
}

interface Recording {
  packets: Packet[]
  config: Buffer
  width: number
  height: number
}

/** The packets of `frames` frames of the test camera, or of a whole file. */
async function record(codec: 'h264' | 'hevc', frames: number, spec = testSpec({ codec, width: 320, height: 240, fps: 30, seconds: 2, realtime: false })): Promise<Recording> {
  const source = await Source.open(spec, { packets: true })
  try {
    const dst = new Uint8Array(source.info.byteLength)
    for (let i = 0; i < frames; i++) {
      const ended = await source.readInto(dst).then(() => false, (e: { code: string }) => e.code === 'END_OF_STREAM')
      if (ended) break
    }
    return { packets: drain(source), config: source.info.codecConfig!, width: source.info.width, height: source.info.height }
  } finally {
    source.close()
  }
}

/** Muxes every packet, rebased to start at 0; `cutHere(packet, fragmentStartUs)` decides a cut before each one. */
function mux(
  rec: Recording,
  codec: 'h264' | 'hevc',
  cutHere: (p: Packet, fragmentStartUs: number) => boolean,
): { muxer: Mp4Muxer; init: Buffer; fragments: Buffer[]; samples: number[] } {
  const muxer = new Mp4Muxer({ codec, width: rec.width, height: rec.height, codecConfig: rec.config })
  const t0 = rec.packets[0]!.dtsUs
  const fragments: Buffer[] = []
  const samples: number[] = []
  let inFragment = 0
  let fragmentStart = 0
  for (const p of rec.packets) {
    if (inFragment > 0 && cutHere(p, fragmentStart)) {
      fragments.push(muxer.cut())
      samples.push(inFragment)
      inFragment = 0
    }
    if (inFragment === 0) fragmentStart = p.dtsUs
    muxer.write(p.data, p.ptsUs - t0, p.dtsUs - t0, p.durationUs, p.keyframe)
    inFragment++
  }
  fragments.push(muxer.cut())
  samples.push(inFragment)
  return { muxer, init: muxer.initSegment, fragments, samples }
}

for (const codec of ['h264', 'hevc'] as const) {
  t.test(`${codec}: ~1 s fragments play whole and cut after any fragment`, async (t) => {
    const dir = tempDir(t)
    const rec = await record(codec, 100)
    const { muxer, init, fragments, samples } = mux(rec, codec, (p, start) => p.dtsUs - start >= 1_000_000)
    t.teardown(() => muxer.close())
    t.ok(fragments.length >= 3, `${fragments.length} fragments of ${samples.join(', ')} samples`)
    t.ok(fragments.every((f) => f.length > 0 && f.subarray(4, 8).toString() === 'moof'), 'each cut is a moof (+ mdat)')
    t.equal(init.subarray(4, 8).toString(), 'ftyp', 'the init segment starts with ftyp')

    const whole = join(dir, 'whole.mp4')
    writeFileSync(whole, Buffer.concat([init, ...fragments]))
    const probe = ffprobe(whole)
    t.equal(probe.frames, rec.packets.length, `ffprobe counts every frame written (${rec.packets.length})`)
    t.equal(probe.codec, codec)
    t.equal(probe.tag, codec === 'h264' ? 'avc1' : 'hvc1')
    t.same([probe.width, probe.height], [320, 240])
    const level = codec === 'h264' ? probe.level.toString(16).padStart(2, '0') : `L${probe.level}`
    t.match(muxer.mimeCodec, codec === 'h264' ? new RegExp(`^avc1\\.[0-9a-f]{4}${level}$`) : new RegExp(`^hvc1\\.1\\.6\\.${level}`), `mimeCodec ${muxer.mimeCodec}`)

    // The crash-safety model: the file as it stood after each complete fragment.
    for (let k = 1; k < fragments.length; k++) {
      const partial = join(dir, `partial-${k}.mp4`)
      writeFileSync(partial, Buffer.concat([init, ...fragments.slice(0, k)]))
      const expected = samples.slice(0, k).reduce((a, b) => a + b, 0)
      t.equal(ffprobe(partial).frames, expected, `cut after fragment ${k}: ${expected} frames`)
    }
  })
}

t.test('one fragment per frame is valid too', async (t) => {
  const dir = tempDir(t)
  const rec = await record('h264', 40)
  const { muxer, init, fragments } = mux(rec, 'h264', () => true)
  t.teardown(() => muxer.close())
  t.equal(fragments.length, rec.packets.length, 'a fragment per sample')
  const path = join(dir, 'per-frame.mp4')
  writeFileSync(path, Buffer.concat([init, ...fragments]))
  t.equal(ffprobe(path).frames, rec.packets.length)
})

t.test('B-frames: samples in decode order with composition offsets', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'bframes.mp4', { fps: 30, frames: 45, extra: ['-bf', '2', '-g', '15'] })
  const rec = await record('h264', 1000, fileSpec(clip))
  t.ok(rec.packets.some((p) => p.ptsUs !== p.dtsUs), 'the clip has reordered frames')
  const { muxer, init, fragments } = mux(rec, 'h264', (p, start) => p.keyframe && p.dtsUs - start >= 400_000)
  t.teardown(() => muxer.close())
  const path = join(dir, 'bframes-out.mp4')
  writeFileSync(path, Buffer.concat([init, ...fragments]))
  t.equal(ffprobe(path).frames, 45, 'every frame plays')
  const shown = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', path], { encoding: 'utf8' })
    .split('\n').filter((line) => line.trim() !== '').map((line) => parseFloat(line)) // a keyframe's line ends in a side-data column
  t.ok(shown.every((v, i) => i === 0 || v > shown[i - 1]!), 'frames come out in presentation order')
})

t.test('samples without a duration (RTSP) still tile the timeline', async (t) => {
  const dir = tempDir(t)
  const rec = await record('h264', 60)
  const unknown = { ...rec, packets: rec.packets.map((p) => ({ ...p, durationUs: 0 })) }
  const { muxer, init, fragments } = mux(unknown, 'h264', (p, start) => p.dtsUs - start >= 500_000)
  t.teardown(() => muxer.close())
  t.ok(fragments.length >= 3, `${fragments.length} fragments`)
  const path = join(dir, 'no-durations.mp4')
  writeFileSync(path, Buffer.concat([init, ...fragments]))
  const durations = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=duration_time', '-of', 'csv=p=0', path], { encoding: 'utf8' })
    .split('\n').filter((line) => line.trim() !== '').map((line) => parseFloat(line))
  t.equal(durations.length, rec.packets.length)
  t.ok(durations.every((d) => Math.abs(d - 1 / 30) < 0.001), 'every sample, the last of each fragment too, lasts a frame interval')
})

t.test('creation time and metadata land in the file', async (t) => {
  const dir = tempDir(t)
  const rec = await record('h264', 5)
  const created = Date.UTC(2026, 11, 7, 15, 10, 16, 250)
  const muxer = new Mp4Muxer({
    codec: 'h264', width: rec.width, height: rec.height, codecConfig: rec.config,
    creationTimeMs: created, metadata: { heart_capture_ts_ns: String(rec.packets[0]!.captureTsNs) },
  })
  t.teardown(() => muxer.close())
  const t0 = rec.packets[0]!.dtsUs
  for (const p of rec.packets) muxer.write(p.data, p.ptsUs - t0, p.dtsUs - t0, p.durationUs, p.keyframe)
  const path = join(dir, 'tagged.mp4')
  writeFileSync(path, Buffer.concat([muxer.initSegment, muxer.cut()]))
  const probe = ffprobe(path)
  t.equal(probe.tags.creation_time, '2026-12-07T15:10:16.250000Z')
  t.equal(probe.tags.heart_capture_ts_ns, String(rec.packets[0]!.captureTsNs))
  t.equal(probe.frames, rec.packets.length, 'every packet written is a frame')
})

t.test('misuse is refused with named errors', async (t) => {
  const rec = await record('h264', 3)
  t.throws(() => new Mp4Muxer({ codec: 'mjpeg' as 'h264', width: 320, height: 240, codecConfig: rec.config }), {
    code: 'INVALID_ARGUMENT', message: /codec 'mjpeg'/,
  })
  t.throws(() => new Mp4Muxer({ codec: 'h264', width: 320, height: 240, codecConfig: new Uint8Array([1, 2, 3]) }), {
    code: 'INVALID_ARGUMENT', message: /codecConfig .* no Annex B SPS/,
  })
  t.throws(() => new Mp4Muxer({ codec: 'h264', width: 0, height: 240, codecConfig: rec.config }), {
    code: 'INVALID_ARGUMENT', message: /width must be from 2 to 16384, got 0/,
  })
  const muxer = new Mp4Muxer({ codec: 'h264', width: 320, height: 240, codecConfig: rec.config })
  t.equal(muxer.cut().length, 0, 'a cut with no sample is empty')
  const [a, b] = rec.packets
  muxer.write(a!.data, 0, 0, 33_333, true)
  t.throws(() => muxer.write(b!.data, 33_333, 0, 33_333, false), { code: 'INVALID_ARGUMENT', message: /dtsUs 0 does not increase/ })
  t.throws(() => muxer.write(b!.data, 10, 20, 33_333, false), { code: 'INVALID_ARGUMENT', message: /ptsUs 10 is before dtsUs 20/ })
  t.throws(() => muxer.write(new Uint8Array(0), 40_000, 40_000, 0, false), { code: 'INVALID_ARGUMENT', message: /empty/ })
  muxer.write(b!.data, 33_333, 33_333, 33_333, false)
  t.ok(muxer.cut().length > 0, 'the refused writes left the muxer usable')
  muxer.close()
  muxer.close()
  t.throws(() => muxer.write(b!.data, 66_666, 66_666, 33_333, false), { code: 'CLOSED' })
  t.throws(() => muxer.cut(), { code: 'CLOSED' })
})
