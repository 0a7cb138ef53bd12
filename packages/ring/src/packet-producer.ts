import { CODEC_CONFIG_BYTES, E_EPOCH, E_FLAGS, E_LENGTH, E_STAMP, EB_CAPTURE_TS, EF_DTS_US, EF_DURATION_US, EF_POSITION, EF_PTS_US, EF_SEQ, ENTRY_I32, ENTRY_WORDS, PACKET_CODECS, PacketFlags, type PacketCodec, type PacketViews, packetCodecCode, packetRingLayout, stampOf } from './packet-layout.js'
import { RingError, invalidArgument } from './errors.js'

/** One compressed access unit as the capture worker hands it over. */
export interface PacketInput {
  /** The access unit, Annex B. Copied into the ring; the caller may reuse it at once. */
  data: Uint8Array
  keyframe: boolean
  ptsUs: number
  dtsUs: number
  durationUs: number
  /** CLOCK_MONOTONIC when the packet arrived (the frame ring's captureTsNs of the same frame). */
  captureTsNs: bigint
}

/** What readers need to set up a decoder or a muxer; written at every (re)open. */
export interface PacketStreamInput {
  codec: PacketCodec
  width: number
  height: number
  fps: number
  /** Parameter sets (SPS/PPS, and VPS for HEVC), at most 4 KiB. */
  codecConfig: Uint8Array
}

const { i32: W, f64: F } = packetRingLayout

/**
 * The one writer of a packet ring. It never waits for readers and keeps no
 * books of them: it overwrites the oldest records, and each reader notices
 * by itself that what it wanted is gone. write() allocates nothing.
 */
export class PacketProducer {
  private readonly v: PacketViews
  private seq: number
  /**
   * Where the next record goes (absolute), and the oldest seq whose entry may
   * still be valid (everything older was invalidated). In a Float64Array, not
   * in fields: the position passes 2^31 after 2 GiB of stream, and V8 boxes a
   * double stored in an object field in a new heap number on every store.
   */
  private readonly position = new Float64Array(1)
  private oldest: number

  constructor(views: PacketViews) {
    this.v = views
    // A restarted capture worker carries on after what its predecessor published.
    this.seq = views.published()
    this.position[0] = views.headerF64[F.writePos]!
    this.oldest = views.oldestPossible(this.seq)
    Atomics.add(views.header, W.producers, 1)
  }

  /**
   * Describes the stream that the next packets belong to and starts a new
   * epoch, so every reader resyncs to the new stream's first keyframe.
   * Returns the new epoch.
   */
  setStream(stream: PacketStreamInput): number {
    if (!PACKET_CODECS.includes(stream.codec)) throw invalidArgument(`packet ring stream: codec must be one of ${PACKET_CODECS.join(', ')}, got ${String(stream.codec)}`)
    for (const field of ['width', 'height'] as const) {
      const value = stream[field]
      if (!Number.isInteger(value) || value < 1 || value > 65535) throw invalidArgument(`packet ring stream: ${field} must be an integer from 1 to 65535, got ${String(value)}`)
    }
    if (!(stream.fps > 0) || !Number.isFinite(stream.fps)) throw invalidArgument(`packet ring stream: fps must be a positive number, got ${String(stream.fps)}`)
    if (!(stream.codecConfig instanceof Uint8Array) || stream.codecConfig.byteLength > CODEC_CONFIG_BYTES) {
      throw invalidArgument(`packet ring stream: codecConfig must be a Uint8Array of at most ${CODEC_CONFIG_BYTES} bytes, got ${stream.codecConfig instanceof Uint8Array ? `${stream.codecConfig.byteLength} bytes` : typeof stream.codecConfig}`)
    }
    const { block, header } = this.v
    block.beginWrite(W.streamGeneration)
    header[W.streamCodec] = packetCodecCode(stream.codec)
    header[W.streamWidth] = stream.width
    header[W.streamHeight] = stream.height
    this.v.headerF64[F.streamFps] = stream.fps
    this.v.config.set(stream.codecConfig)
    header[W.streamConfigLength] = stream.codecConfig.byteLength
    const epoch = Atomics.add(header, W.epoch, 1) + 1
    header[W.streamEpoch] = epoch
    block.endWrite(W.streamGeneration)
    return epoch
  }

  /**
   * Appends one packet and wakes the readers. Returns its seq (0-based,
   * increasing by one) as a number, not a BigInt, so that nothing is
   * allocated per packet.
   */
  write(packet: PacketInput): number {
    const v = this.v
    const data = packet.data
    const length = data.byteLength
    const dataBytes = v.dataBytes
    if (length > dataBytes) {
      throw new RingError('RING_FRAME_TOO_LARGE', `a packet of ${length} bytes does not fit the packet ring's ${dataBytes} data bytes; size the ring with packetRingBytes() for the stream's bitrate`)
    }
    const seq = this.seq
    // Records never wrap: one that does not fit before the end starts at 0.
    let start = this.position[0]!
    const offset = start % dataBytes
    if (offset + length > dataBytes) start += dataBytes - offset
    const end = start + length
    // Invalidate, oldest first, every entry this record destroys: the one its
    // index entry reuses, and those whose bytes lie below `horizon` (the bytes
    // about to be written cover them). Each entry is invalidated once: O(1)
    // per packet on average. The entry of `seq` itself ends up invalid here,
    // before any of its bytes change. Inline, not a method, so
    // that the double `horizon` is never boxed to be passed.
    const horizon = end - dataBytes
    const reused = seq - v.indexEntries
    while (this.oldest < seq) {
      const old = this.oldest
      if (old > reused && v.indexF64[(old % v.indexEntries) * ENTRY_WORDS + EF_POSITION]! >= horizon && v.holds(old)) break
      Atomics.store(v.index32, (old % v.indexEntries) * ENTRY_I32 + E_STAMP, 0)
      this.oldest = old + 1
    }

    const i = seq % v.indexEntries
    const b32 = i * ENTRY_I32
    const b64 = i * ENTRY_WORDS
    v.data.set(data, start % dataBytes)
    v.index32[b32 + E_LENGTH] = length
    v.index32[b32 + E_FLAGS] = packet.keyframe ? PacketFlags.KEYFRAME : 0
    v.index32[b32 + E_EPOCH] = Atomics.load(v.header, W.epoch)
    v.indexF64[b64 + EF_SEQ] = seq
    v.indexF64[b64 + EF_POSITION] = start
    v.indexF64[b64 + EF_PTS_US] = packet.ptsUs
    v.indexF64[b64 + EF_DTS_US] = packet.dtsUs
    v.indexF64[b64 + EF_DURATION_US] = packet.durationUs
    v.index64[b64 + EB_CAPTURE_TS] = packet.captureTsNs
    Atomics.store(v.index32, b32 + E_STAMP, stampOf(seq))

    this.seq = seq + 1
    this.position[0] = end
    v.headerF64[F.writePos] = end
    v.headerF64[F.published] = seq + 1
    Atomics.store(v.header, W.publishTick, (seq + 1) | 0)
    Atomics.notify(v.header, W.publishTick)
    return seq
  }
}
