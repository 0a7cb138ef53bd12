// Reading takePackets() records back (the layout native/src/media/packets.rs
// writes), shared by the packet-tap and muxer tests.
import { PACKET_RECORD_HEADER_BYTES, type PacketBatch, type Source } from '@heart/native'

export interface Packet {
  data: Uint8Array
  keyframe: boolean
  ptsUs: number
  dtsUs: number
  durationUs: number
  captureTsNs: bigint
}

/** The `batch.count` records at the start of `buf`. */
export function parseRecords(buf: Uint8Array, batch: PacketBatch): Packet[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const packets: Packet[] = []
  let at = 0
  for (let i = 0; i < batch.count; i++) {
    const size = view.getUint32(at, true)
    const start = at + PACKET_RECORD_HEADER_BYTES
    packets.push({
      data: buf.slice(start, start + size),
      keyframe: (view.getUint32(at + 4, true) & 1) === 1,
      ptsUs: view.getFloat64(at + 8, true),
      dtsUs: view.getFloat64(at + 16, true),
      durationUs: view.getFloat64(at + 24, true),
      captureTsNs: view.getBigUint64(at + 32, true),
    })
    at = start + Math.ceil(size / 8) * 8
  }
  if (at !== batch.bytes) throw new Error(`records end at ${at} but the batch says ${batch.bytes} bytes`)
  return packets
}

/** Everything queued now, in one or more calls. */
export function drain(source: Source, buf = new Uint8Array(8 << 20)): Packet[] {
  const packets: Packet[] = []
  for (;;) {
    const batch = source.takePackets(buf)
    packets.push(...parseRecords(buf, batch))
    if (batch.pending === 0 || batch.count === 0) return packets
  }
}

/** NAL unit types of an Annex B buffer, in order (H.264: 5 bits; HEVC: 6 bits after the forbidden bit). */
export function nalTypes(data: Uint8Array, codec: 'h264' | 'hevc'): number[] {
  const types: number[] = []
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      const header = data[i + 3]!
      types.push(codec === 'h264' ? header & 0x1f : (header >> 1) & 0x3f)
      i += 2
    }
  }
  return types
}

export function startsWithStartCode(data: Uint8Array): boolean {
  return (data[0] === 0 && data[1] === 0 && data[2] === 1) || (data[0] === 0 && data[1] === 0 && data[2] === 0 && data[3] === 1)
}
