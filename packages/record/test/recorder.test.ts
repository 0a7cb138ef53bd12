// The recorder in this thread, with the real packet ring and the crate's
// muxer, fed real H.264 access units made by the FFmpeg CLI; what it writes
// is judged by ffprobe.
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadNative } from '@heart/kernel'
import { PacketRing } from '@heart/ring'
import { Recorder } from '../src/recorder.js'
import { listSegments } from '../src/segment-files.js'
import type { RecorderHealthInput } from '../src/health.js'
import type { MuxerFactory } from '../src/types.js'
import { h264Clip, type Clip } from './annexb.js'
import { probeFrames, tempDir } from './helpers.js'

const native = await loadNative(['Mp4Muxer'])
const muxer: MuxerFactory = (options) => new native.Mp4Muxer(options)
const FPS = 30
const clip = await h264Clip({ frames: 150, fps: FPS, gop: 15 })
const quiet = { info: () => {}, warn: () => {}, error: () => {} }

interface Rig {
  ring: PacketRing
  recorder: Recorder
  health: () => RecorderHealthInput
  feed(from: number, to: number, clock: { seq: number }): void
  stop(): Promise<void>
  root: string
}

function rig(t: Test, options: { segmentSeconds?: number; minFreeMb?: number; hours?: number; root?: string } = {}): Rig {
  const root = options.root ?? join(tempDir(t), 'rec')
  const ring = PacketRing.create({ dataBytes: 4 << 20, indexEntries: 1024 })
  const producer = ring.producer()
  producer.setStream({ codec: 'h264', width: 160, height: 120, fps: FPS, codecConfig: clip.codecConfig })
  let last: RecorderHealthInput | null = null
  const recorder = new Recorder({
    camera: 'front', root, source: ring, muxer, log: quiet, housekeepingMs: 50,
    config: { segmentSeconds: options.segmentSeconds ?? 2, fragmentSeconds: 0.5, retain: { hours: options.hours, minFreeMb: options.minFreeMb ?? 0 } },
    health: (h) => (last = h),
  })
  const ac = new AbortController()
  const running = recorder.run(ac.signal)
  const start = process.hrtime.bigint()
  return {
    ring, recorder, root,
    health: () => last!,
    feed(from, to, clock) {
      for (let i = from; i < to; i++) {
        const unit = (clip as Clip).units[i % clip.units.length]!
        const us = clock.seq * (1e6 / FPS)
        producer.write({ data: unit.data, keyframe: unit.keyframe, ptsUs: us, dtsUs: us, durationUs: 1e6 / FPS, captureTsNs: start + BigInt(Math.round(us * 1000)) })
        clock.seq++
      }
    },
    async stop() {
      ac.abort()
      await running
    },
  }
}

const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('packets become segments of segmentSeconds, each starting at a keyframe; a reopen starts a new file', async (t) => {
  const r = rig(t)
  const clock = { seq: 0 }
  r.feed(0, 150, clock) // 5 s at 30 fps, a keyframe every 15 frames
  await settle()
  // The camera reopens: a new epoch; its first packets are not keyframes, so the new file waits for one.
  const producer = r.ring.producer()
  producer.setStream({ codec: 'h264', width: 160, height: 120, fps: FPS, codecConfig: clip.codecConfig })
  r.feed(1, 60, clock)
  await settle()
  await r.stop()
  const segments = await listSegments(r.root, 'front')
  t.ok(segments.length >= 3, `${segments.length} segments`)
  let frames = 0
  for (const s of segments) frames += await probeFrames(s.path)
  t.equal(frames, 150 + 45, 'every frame of the first stream, and the second from its first keyframe')
  const h = r.health()
  t.equal(h.state, 'stopped')
  t.equal(h.frames_total, 195)
  t.ok(h.dropped.recorder_slow === 0, 'nothing lost to falling behind')
})

t.test('a clip reaches back to the keyframe before event - preSeconds, and a request for its path again extends it', async (t) => {
  const r = rig(t, { segmentSeconds: 60 })
  const clock = { seq: 0 }
  r.feed(0, 90, clock) // 3 s of history in the ring
  await settle(200)
  const eventNs = r.ring.stats().newestCaptureTsNs!
  const path = join(r.root, 'front', 'clips', 'one.mp4')
  r.recorder.clip({ eventCaptureTsNs: eventNs, preSeconds: 1, postSeconds: 0.5, reason: 'motion', payload: { boxes: [1] }, path })
  // The main thread extends a clip by asking for the same path again (it decides what extends what).
  r.recorder.clip({ eventCaptureTsNs: eventNs + 500_000_000n, preSeconds: 1, postSeconds: 0.5, reason: 'motion', path })
  r.recorder.clip({ eventCaptureTsNs: eventNs, preSeconds: 0, postSeconds: 0.2, reason: 'motion', path: join(r.root, 'front', 'clips', 'two.mp4') })
  r.feed(90, 150, clock)
  await settle()
  await r.stop()
  t.ok(existsSync(path), 'the clip was written')
  t.ok(existsSync(join(r.root, 'front', 'clips', 'two.mp4')), 'a request for another path is a clip of its own, even of the same kind')
  // From the keyframe at or before 2 s back... to 1 s after the first event: frames 45..120 at least.
  const frames = await probeFrames(path)
  t.ok(frames >= 30 + 30 && frames <= 30 + 15 + 30 + 2, `${frames} frames: pre-roll to the keyframe plus the extended post`)
  t.same(JSON.parse(readFileSync(path.replace(/\.mp4$/, '.json'), 'utf8')).payload, { boxes: [1] }, 'the event beside the clip')
  t.equal(r.health().clips_total, 2)
})

t.test('the folder vanishing (drive unplugged) is reported and retried; recording resumes when it is back', async (t) => {
  const root = join(tempDir(t), 'usb')
  const r = rig(t, { root })
  const clock = { seq: 0 }
  r.feed(0, 30, clock)
  await settle()
  renameSync(root, root + '-away')
  await settle()
  t.equal(r.health().state, 'storage_missing')
  r.feed(30, 60, clock)
  await settle()
  t.match(r.health().reason ?? '', /is gone \(drive unplugged or unmounted\?\)/)
  t.notOk(existsSync(root), 'heart did not recreate the folder under the mount point')
  renameSync(root + '-away', root)
  await settle()
  r.feed(60, 120, clock)
  await settle()
  t.equal(r.health().state, 'recording', 'back')
  await r.stop()
  t.ok(r.health().dropped.recorder_paused > 0, 'packets while it was gone are counted as paused')
})

t.test('retention by age deletes old segments while recording; free space too short pauses it', async (t) => {
  const root = join(tempDir(t), 'rec')
  const old = join(root, 'front', '2026-01-01', '00-00-00.mp4')
  mkdirSync(join(root, 'front', '2026-01-01'), { recursive: true })
  writeFileSync(old, 'an old segment')
  utimesSync(old, new Date('2026-01-01T00:01:00Z'), new Date('2026-01-01T00:01:00Z'))
  const r = rig(t, { root, hours: 24 })
  const clock = { seq: 0 }
  r.feed(0, 30, clock)
  await settle()
  t.notOk(existsSync(old), 'a segment older than retain.hours was deleted')
  await r.stop()

  const short = rig(t, { minFreeMb: 1e9 })
  short.feed(0, 30, { seq: 0 })
  await settle()
  t.equal(short.health().state, 'paused_disk_full')
  t.match(short.health().reason ?? '', /retain\.minFreeMb is 1000000000/)
  await short.stop()
})

t.test('packets without timestamps (an RTSP stream before its clock is known) are placed by their receipt times', async (t) => {
  const r = rig(t)
  const producer = r.ring.producer()
  producer.setStream({ codec: 'h264', width: 160, height: 120, fps: FPS, codecConfig: clip.codecConfig })
  const start = process.hrtime.bigint()
  for (let i = 0; i < 60; i++) {
    const unit = clip.units[i]!
    // Every other packet has no pts or dts at all; the very first has none either.
    const us = i % 2 === 0 ? NaN : i * (1e6 / FPS)
    producer.write({ data: unit.data, keyframe: unit.keyframe, ptsUs: us, dtsUs: NaN, durationUs: 0, captureTsNs: start + BigInt(Math.round(i * (1e9 / FPS))) })
  }
  await settle()
  await r.stop()
  const segments = await listSegments(r.root, 'front')
  let frames = 0
  for (const s of segments) frames += await probeFrames(s.path)
  t.equal(frames, 45, 'all but the first GOP (its keyframe had no time to start a file at) were recorded and play')
  t.equal(r.health().waited_for_keyframe, 15)
})
