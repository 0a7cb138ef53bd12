// The live-mp4 worker's loop (LiveMp4Muxer) on real packet rings, with a
// recording stand-in for the crate's muxer so every call can be checked: it
// muxes nothing while nobody watches, one fragment per packet from a
// keyframe on with the timeline rebased to 0, a prft box before each, a new
// fragment-ring epoch for every viewing and every camera reopen, and a
// packet the muxer refuses costs only the frames up to the next keyframe.
import t from 'tap'
import { PacketRing, packetRingBytes, type PacketProducer } from '@heart/ring'
import { LiveMp4Control } from '../src/live-mp4-layout.js'
import { LIVE_TIMESCALE, LiveMp4Muxer, type LiveFragmentMuxer } from '../src/live-mp4-muxer.js'

interface Written {
  bytes: number
  pts: number
  dts: number
  keyframe: boolean
}

class FakeMuxer implements LiveFragmentMuxer {
  readonly initSegment: Uint8Array
  readonly mimeCodec = 'avc1.640028'
  readonly written: Written[] = []
  closed = false
  failNext = false
  constructor(readonly serial: number) {
    this.initSegment = new Uint8Array([0, 0, 0, 9, 0x66, 0x74, 0x79, 0x70, serial])
  }
  write(data: Uint8Array, pts: number, dts: number, _durationUs: number, keyframe: boolean): void {
    if (this.failNext) {
      this.failNext = false
      throw new Error('INVALID_ARGUMENT: bad access unit')
    }
    this.written.push({ bytes: data.byteLength, pts, dts, keyframe })
  }
  cut(): Uint8Array {
    // moof(8) + mdat(8 + sample): enough structure for the prft to precede.
    const last = this.written.at(-1)!
    const out = new Uint8Array(16 + last.bytes)
    new DataView(out.buffer).setUint32(0, 8)
    out.set([0x6d, 0x6f, 0x6f, 0x66], 4)
    new DataView(out.buffer).setUint32(8, 8 + last.bytes)
    out.set([0x6d, 0x64, 0x61, 0x74], 12)
    return out
  }
  close(): void {
    this.closed = true
  }
}

function camera(): { ring: PacketRing; producer: PacketProducer; open(): number; send(i: number, keyframe: boolean): void } {
  const ring = PacketRing.create(packetRingBytes({ bitrateBps: 8e6, seconds: 4, fps: 30 }))
  const producer = ring.producer()
  return {
    ring,
    producer,
    open: () => producer.setStream({ codec: 'h264', width: 320, height: 240, fps: 30, codecConfig: new Uint8Array([0, 0, 0, 1, 0x67, 0x64]) }),
    send: (i, keyframe) =>
      void producer.write({ data: new Uint8Array(100 + i), keyframe, ptsUs: 5_000_000 + i * 33_333, dtsUs: 5_000_000 + i * 33_333, durationUs: 33_333, captureTsNs: 1_000_000_000n + BigInt(i) * 33_333_000n }),
  }
}

const tick = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('muxes only while wanted, one fragment per packet from a keyframe, rebased, each after its prft', async (t) => {
  const cam = camera()
  cam.open()
  const fragments = PacketRing.create(packetRingBytes({ bitrateBps: 8e6, seconds: 4, fps: 30 }))
  const control = LiveMp4Control.create()
  const muxers: FakeMuxer[] = []
  const live = new LiveMp4Muxer({
    packets: cam.ring,
    fragments: fragments.producer(),
    control,
    muxer: () => (muxers.push(new FakeMuxer(muxers.length)), muxers.at(-1)!),
    log: { warn: () => undefined },
    monotonicNs: () => 2_000_000_000n,
    wallMs: () => 1_700_000_000_000,
  })
  const abort = new AbortController()
  const running = live.run(abort.signal)
  t.teardown(() => abort.abort())
  for (let i = 0; i < 10; i++) cam.send(i, i % 5 === 0)
  await tick(300)
  t.equal(muxers.length, 1, 'the init segment is ready before anyone watches')
  t.equal(muxers[0]!.written.length, 0, 'nobody watches: nothing muxed')
  t.equal(control.status().state, 'ready')
  t.equal(control.status().mimeCodec, 'avc1.640028', 'the codec is named for live.json')
  const idleEpoch = fragments.stream()!.epoch

  control.setWanted(true)
  await tick(100)
  for (let i = 10; i < 20; i++) cam.send(i, i % 5 === 0)
  await tick(100)
  t.equal(control.status().state, 'muxing')
  t.ok(fragments.stream()!.epoch > idleEpoch, 'a viewing starts a new fragment-ring epoch')
  t.same(Array.from(fragments.stream()!.codecConfig), Array.from(muxers[0]!.initSegment), 'the init segment is in the stream slot')
  const written = muxers[0]!.written
  // From the latest keyframe at the moment it started (packet 5), then everything after.
  t.same(written.map((w) => w.bytes - 100), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 'every packet from the latest keyframe on, in order')
  t.ok(written[0]!.keyframe, 'the first one a keyframe')
  t.equal(written[0]!.dts, 0, 'the timeline starts at 0')
  t.equal(written[1]!.dts, 33_333, 'and keeps the camera\'s steps')

  const reader = fragments.reader({ name: 'check', start: 'latest-keyframe' })
  reader.seek({ atOrBeforeCaptureNs: 0n })
  const got = []
  for (let r = reader.next(); r; r = reader.next()) got.push({ keyframe: r.keyframe, pts: r.ptsUs, bytes: Buffer.from(r.data) })
  t.equal(got.length, 15, 'one fragment-ring record per packet')
  const first = got[0]!.bytes
  t.equal(first.subarray(4, 8).toString('latin1'), 'prft', 'each starts with a prft box')
  t.equal(first.subarray(36, 40).toString('latin1'), 'moof', 'then the fragment')
  // Received 1 s before "now" (monotonic 2 s, packet at 1 s + 5 frames): wall ms 1_700_000_000_000 - (1000 - 166.665).
  const ntp = first.readUInt32BE(16) + first.readUInt32BE(20) / 2 ** 32
  t.ok(Math.abs((ntp - 2_208_988_800) * 1000 - (1_700_000_000_000 - 833.335)) < 1, 'the prft says when heart received the frame (NTP)')
  t.equal(first.readUInt32BE(24) * 2 ** 32 + first.readUInt32BE(28), 0, 'for media time 0')
  t.equal(got[3]!.bytes.readUInt32BE(28), Math.round(3 * 33_333 * LIVE_TIMESCALE / 1e6), 'in the 90 kHz timescale')

  // A packet the muxer refuses: the frames up to the next keyframe are lost, not the viewing.
  muxers[0]!.failNext = true
  for (let i = 20; i < 30; i++) cam.send(i, i % 5 === 0)
  await tick(100)
  t.equal(muxers.length, 2, 'a refused packet reopens the muxer')
  t.same(muxers[1]!.written.map((w) => w.bytes - 100), [25, 26, 27, 28, 29], 'and it goes on from the next keyframe')

  // The camera reopens: a new muxer and a new epoch for the viewers.
  const before = fragments.stream()!.epoch
  cam.open()
  for (let i = 30; i < 35; i++) cam.send(i, i === 30)
  await tick(100)
  t.equal(muxers.length, 3, 'a camera reopen opens a new muxer')
  t.ok(muxers[1]!.closed, 'and closes the old one')
  t.ok(fragments.stream()!.epoch > before, 'with a new fragment-ring epoch')
  t.same(muxers[2]!.written.map((w) => w.dts), [0, 33_333, 66_666, 99_999, 133_332], 'rebased to 0 again')

  control.setWanted(false)
  await tick(400)
  t.equal(control.status().state, 'ready', 'with nobody watching it stops')
  const muxed = muxers[2]!.written.length
  for (let i = 35; i < 40; i++) cam.send(i, false)
  await tick(100)
  t.equal(muxers[2]!.written.length, muxed, 'and muxes nothing more')
  abort.abort()
  await running
  t.ok(muxers[2]!.closed, 'stopping closes the muxer')
})
