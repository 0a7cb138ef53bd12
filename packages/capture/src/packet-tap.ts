// Moves an opened source's compressed packets into the camera's packet ring
// (DESIGN.md "Data flow"): after each frame the capture loop drains the
// crate's packet queue into one reused buffer and publishes each record.
// The record layout is the crate's (takePackets in @heart/native's
// index.d.ts): u32 payload bytes, u32 flags, f64 pts, f64 dts, f64 duration
// (µs), u64 capture ns, then the payload, padded to 8 bytes.
import type { CaptureLog } from './capture-loop.js'
import type { PacketSource } from './decoder.js'

/** The part of @heart/ring's packet producer the tap uses (structural, for tests). */
export interface PacketSink {
  setStream(stream: { codec: 'h264' | 'hevc'; width: number; height: number; fps: number; codecConfig: Uint8Array }): unknown
  write(packet: { data: Uint8Array; keyframe: boolean; ptsUs: number; dtsUs: number; durationUs: number; captureTsNs: bigint }): unknown
}

const KEYFRAME_FLAG = 1
/** Start with room for a burst of 1080p packets; grown (bounded) when one record is larger. */
const INITIAL_BYTES = 1 << 20
const MAX_BYTES = 64 << 20

export class PacketTap {
  private buffer = new Uint8Array(INITIAL_BYTES)
  private view = new DataView(this.buffer.buffer)
  private source: PacketSource | null = null
  private described = false
  private geometry = { width: 0, height: 0, fps: 0 }
  /** Packets the crate's queue dropped because nobody drained it in time (counted, logged once per open). */
  overflowed = 0
  published = 0

  constructor(private readonly sink: PacketSink, private readonly log: CaptureLog) {}

  /** A new open: its packets start a new epoch of the ring once its parameter sets are known. */
  opened(source: PacketSource | undefined, geometry: { width: number; height: number; fps: number | null }): void {
    this.source = source ?? null
    this.described = false
    this.geometry = { width: geometry.width, height: geometry.height, fps: geometry.fps ?? 0 }
  }

  /** Publishes every packet queued since the last call. */
  drain(): void {
    const source = this.source
    if (!source) return
    if (!this.described) {
      const config = source.codecConfig()
      if (!config) {
        // Packets before the parameter sets cannot be muxed: let the crate's queue hold them until they come.
        return
      }
      this.sink.setStream({ codec: source.codec, ...this.geometry, codecConfig: config })
      this.described = true
    }
    for (let rounds = 0; rounds < 64; rounds++) {
      const batch = source.take(this.buffer)
      if (batch.overflowed > 0) {
        if (this.overflowed === 0) this.log.warn('compressed packets lost before the packet ring (the capture loop drained them too late)', { lost: batch.overflowed })
        this.overflowed += batch.overflowed
      }
      this.publish(batch.count)
      if (batch.needBytes > 0) {
        if (batch.needBytes > MAX_BYTES) {
          this.log.warn('a compressed packet larger than the packet tap allows was left out', { bytes: batch.needBytes, max: MAX_BYTES })
          return
        }
        this.buffer = new Uint8Array(Math.max(batch.needBytes, this.buffer.length * 2))
        this.view = new DataView(this.buffer.buffer)
        continue
      }
      if (batch.pending === 0) return
    }
  }

  private publish(count: number): void {
    const v = this.view
    const headerBytes = this.source!.headerBytes
    let at = 0
    for (let i = 0; i < count; i++) {
      const bytes = v.getUint32(at, true)
      const flags = v.getUint32(at + 4, true)
      const start = at + headerBytes
      this.sink.write({
        data: this.buffer.subarray(start, start + bytes),
        keyframe: (flags & KEYFRAME_FLAG) !== 0,
        ptsUs: v.getFloat64(at + 8, true),
        dtsUs: v.getFloat64(at + 16, true),
        durationUs: v.getFloat64(at + 24, true),
        captureTsNs: v.getBigUint64(at + 32, true),
      })
      this.published++
      at = start + ((bytes + 7) & ~7)
    }
  }
}
