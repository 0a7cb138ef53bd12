import { E_LENGTH, ENTRY_I32, PACKET_CODECS, type PacketCodec, PacketViews, packetRingLayout, tailBytesFor } from './packet-layout.js'
import { SharedBlock } from './shared-block.js'
import { invalidArgument } from './errors.js'
import { PacketProducer } from './packet-producer.js'
import { PacketReader, type PacketReaderOptions } from './packet-reader.js'

export interface PacketRingOptions {
  /** Bytes of the circular data region: the packets of the longest pre-roll plus one GOP (see packetRingBytes). */
  dataBytes: number
  /** Packets the index can hold (older ones are gone even if their bytes are not). */
  indexEntries: number
}

/** The stream the ring's packets belong to, as the producer described it at its last (re)open. */
export interface PacketStream {
  epoch: number
  codec: PacketCodec
  width: number
  height: number
  fps: number
  codecConfig: Uint8Array
}

export interface PacketRingStats {
  published: number
  heldPackets: number
  heldBytes: number
  oldestCaptureTsNs: bigint | null
  newestCaptureTsNs: bigint | null
  keyframesHeld: number
  epoch: number
}

const MIN_DATA_BYTES = 1024
/** The whole buffer stays below 2 GiB: record lengths are Int32 fields. */
const MAX_DATA_BYTES = 2 ** 31 - 1 - tailBytesFor(0, 0)
const MAX_INDEX_ENTRIES = 2 ** 22

/**
 * The compressed access units of one camera, in one SharedArrayBuffer: one
 * producer (the capture worker) and any number of readers (recorder, live
 * viewers, clip cutters), each in its own thread. Bounded and drop-oldest per
 * reader: the producer overwrites the oldest records and never waits; a
 * reader that falls behind skips to the next keyframe it still can get.
 */
export class PacketRing {
  private readonly v: PacketViews

  private constructor(views: PacketViews) {
    this.v = views
  }

  static create(options: PacketRingOptions): PacketRing {
    const dataBytes = options?.dataBytes
    const indexEntries = options?.indexEntries
    if (!Number.isInteger(dataBytes) || dataBytes < MIN_DATA_BYTES || dataBytes > MAX_DATA_BYTES) {
      throw invalidArgument(`packet ring dataBytes must be an integer from ${MIN_DATA_BYTES} to ${MAX_DATA_BYTES}, got ${String(dataBytes)}`)
    }
    if (!Number.isInteger(indexEntries) || indexEntries < 2 || indexEntries > MAX_INDEX_ENTRIES) {
      throw invalidArgument(`packet ring indexEntries must be an integer from 2 to ${MAX_INDEX_ENTRIES}, got ${String(indexEntries)}`)
    }
    const block = SharedBlock.create(packetRingLayout, tailBytesFor(dataBytes, indexEntries))
    // No other thread has the buffer before create() returns, so the geometry may follow the magic.
    block.i32[packetRingLayout.i32.dataBytes] = dataBytes
    block.i32[packetRingLayout.i32.indexEntries] = indexEntries
    return new PacketRing(new PacketViews(block))
  }

  /** Attaches to a ring created in another thread; refuses anything else (RING_LAYOUT_MISMATCH). */
  static attach(buffer: unknown): PacketRing {
    return new PacketRing(PacketViews.attach(buffer))
  }

  get buffer(): SharedArrayBuffer {
    return this.v.block.buffer
  }

  get dataBytes(): number {
    return this.v.dataBytes
  }

  get indexEntries(): number {
    return this.v.indexEntries
  }

  /** The producer side. Only one thread may produce into a ring at a time. */
  producer(): PacketProducer {
    return new PacketProducer(this.v)
  }

  reader(options: PacketReaderOptions): PacketReader {
    return new PacketReader(this.v, options)
  }

  epoch(): number {
    return Atomics.load(this.v.header, packetRingLayout.i32.epoch)
  }

  /** The stream description, read under its seqlock; null before the producer's first setStream(). */
  stream(): PacketStream | null {
    const { block } = this.v
    const W = packetRingLayout.i32
    if (!block.written(W.streamGeneration)) return null
    return block.snapshot(
      (b) => {
        const length = Math.min(b.i32[W.streamConfigLength]!, this.v.config.byteLength)
        return {
          epoch: b.i32[W.streamEpoch]!,
          codec: PACKET_CODECS[b.i32[W.streamCodec]! - 1] ?? PACKET_CODECS[0],
          width: b.i32[W.streamWidth]!,
          height: b.i32[W.streamHeight]!,
          fps: b.f64[packetRingLayout.f64.streamFps]!,
          codecConfig: this.v.config.slice(0, length),
        }
      },
      1000,
      W.streamGeneration,
    )
  }

  /** What the ring holds now (for health and `heart budget`); a scan of the index, not for every packet. */
  stats(): PacketRingStats {
    const v = this.v
    const published = v.published()
    let heldPackets = 0
    let heldBytes = 0
    let keyframesHeld = 0
    let oldestCaptureTsNs: bigint | null = null
    let newestCaptureTsNs: bigint | null = null
    for (let s = v.oldestPossible(published); s < published; s++) {
      if (!v.holds(s)) continue
      heldPackets++
      heldBytes += v.index32[(s % v.indexEntries) * ENTRY_I32 + E_LENGTH]!
      if (v.isKeyframe(s)) keyframesHeld++
      const captured = v.captureTsNs(s)
      oldestCaptureTsNs ??= captured
      newestCaptureTsNs = captured
    }
    return { published, heldPackets, heldBytes, oldestCaptureTsNs, newestCaptureTsNs, keyframesHeld, epoch: this.epoch() }
  }
}

export interface PacketRingSizing {
  /** The stream's bitrate, bits per second (the configured or measured peak, not the mean of a quiet scene). */
  bitrateBps: number
  /** The longest pre-roll any reader needs plus one GOP. */
  seconds: number
  fps: number
}

/** Headroom over the mean: bitrate varies with the scene, and a keyframe at the wrong moment costs a whole GOP. */
const SIZING_HEADROOM = 1.5
const DATA_ROUNDING = 64 * 1024

/** Ring sizes that hold `seconds` of the stream with headroom (what `heart budget` reports and the capture worker creates). */
export function packetRingBytes(sizing: PacketRingSizing): PacketRingOptions {
  for (const field of ['bitrateBps', 'seconds', 'fps'] as const) {
    const value = sizing?.[field]
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw invalidArgument(`packetRingBytes: ${field} must be a positive number, got ${String(value)}`)
  }
  const wanted = Math.ceil(((sizing.bitrateBps / 8) * sizing.seconds * SIZING_HEADROOM) / DATA_ROUNDING) * DATA_ROUNDING
  const dataBytes = Math.min(MAX_DATA_BYTES, Math.max(wanted, 16 * DATA_ROUNDING))
  const indexEntries = Math.min(MAX_INDEX_ENTRIES, Math.max(64, Math.ceil(sizing.fps * sizing.seconds * SIZING_HEADROOM)))
  return { dataBytes, indexEntries }
}
