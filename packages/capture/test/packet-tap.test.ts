import t from 'tap'
import { PacketTap, type PacketSink } from '../src/packet-tap.js'
import type { PacketSource } from '../src/decoder.js'

const HEADER = 40

/** Records in the crate's layout (see native/index.d.ts takePackets). */
function records(packets: { bytes: number[]; key: boolean; us: number }[]): Uint8Array {
  const size = packets.reduce((n, p) => n + HEADER + ((p.bytes.length + 7) & ~7), 0)
  const out = new Uint8Array(size)
  const v = new DataView(out.buffer)
  let at = 0
  for (const p of packets) {
    v.setUint32(at, p.bytes.length, true)
    v.setUint32(at + 4, p.key ? 1 : 0, true)
    v.setFloat64(at + 8, p.us, true)
    v.setFloat64(at + 16, p.us, true)
    v.setFloat64(at + 24, 33_333, true)
    v.setBigUint64(at + 32, BigInt(p.us) * 1000n, true)
    out.set(p.bytes, at + HEADER)
    at += HEADER + ((p.bytes.length + 7) & ~7)
  }
  return out
}

/** A source whose queue holds the given batches, handed out as a crate would (needBytes when one does not fit). */
function source(queue: Uint8Array[], config: Uint8Array | null, overflowed = 0): PacketSource & { calls: number } {
  const src = {
    calls: 0,
    codec: 'h264' as const,
    headerBytes: HEADER,
    codecConfig: () => config,
    take(dst: Uint8Array) {
      src.calls++
      const next = queue[0]
      if (!next) return { count: 0, bytes: 0, overflowed: 0, pending: 0, needBytes: 0 }
      if (next.length > dst.length) return { count: 0, bytes: 0, overflowed: 0, pending: queue.length, needBytes: next.length }
      queue.shift()
      dst.set(next)
      const lost = overflowed
      overflowed = 0
      return { count: new DataView(next.buffer).getUint32(0, true) > 0 ? countOf(next) : 0, bytes: next.length, overflowed: lost, pending: queue.length, needBytes: 0 }
    },
  }
  return src
}

function countOf(batch: Uint8Array): number {
  const v = new DataView(batch.buffer)
  let n = 0
  for (let at = 0; at < batch.length; n++) at += HEADER + ((v.getUint32(at, true) + 7) & ~7)
  return n
}

function sink(): PacketSink & { written: { data: number[]; keyframe: boolean; ptsUs: number; captureTsNs: bigint }[]; streams: unknown[] } {
  const s = {
    written: [] as { data: number[]; keyframe: boolean; ptsUs: number; captureTsNs: bigint }[],
    streams: [] as unknown[],
    setStream: (stream: unknown) => s.streams.push(stream),
    write: (p: { data: Uint8Array; keyframe: boolean; ptsUs: number; captureTsNs: bigint }) => s.written.push({ data: [...p.data], keyframe: p.keyframe, ptsUs: p.ptsUs, captureTsNs: p.captureTsNs }),
  }
  return s
}

const log = { debug() {}, info() {}, warn() {}, error() {} }

t.test('records are parsed and published in order, after the stream is described once', (t) => {
  const out = sink()
  const tap = new PacketTap(out, log)
  tap.opened(source([records([{ bytes: [0, 0, 1, 0x65, 1], key: true, us: 0 }, { bytes: [0, 0, 1, 0x41], key: false, us: 33_333 }])], new Uint8Array([0, 0, 1, 0x67])), { width: 64, height: 48, fps: 30 })
  tap.drain()
  t.equal(out.streams.length, 1)
  t.match(out.streams[0], { codec: 'h264', width: 64, height: 48, fps: 30 })
  t.same(out.written.map((w) => [w.data, w.keyframe, w.ptsUs, w.captureTsNs]), [[[0, 0, 1, 0x65, 1], true, 0, 0n], [[0, 0, 1, 0x41], false, 33_333, 33_333_000n]])
  tap.drain()
  t.equal(out.streams.length, 1, 'described once per open')
  t.end()
})

t.test('no parameter sets yet: packets wait in the source queue', (t) => {
  const out = sink()
  const tap = new PacketTap(out, log)
  const src = source([records([{ bytes: [0, 0, 1, 0x41], key: false, us: 0 }])], null)
  tap.opened(src, { width: 64, height: 48, fps: null })
  tap.drain()
  t.equal(src.calls, 0, 'nothing taken')
  t.same(out.written, [])
  t.end()
})

t.test('a record larger than the buffer grows it; lost packets are counted', (t) => {
  const out = sink()
  const tap = new PacketTap(out, log)
  const big = Array.from({ length: 3 << 20 }, (_, i) => i & 0xff)
  tap.opened(source([records([{ bytes: big, key: true, us: 0 }])], new Uint8Array([0, 0, 1, 0x67]), 7), { width: 64, height: 48, fps: 30 })
  tap.drain()
  t.equal(out.written.length, 1)
  t.equal(out.written[0]!.data.length, 3 << 20)
  t.equal(tap.overflowed, 7, 'the packets the crate says it lost are counted')
  t.end()
})
