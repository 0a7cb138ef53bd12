// What a camera's live-mp4 worker does: reads the camera's packet ring from
// the latest keyframe while someone watches, muxes every access unit into a
// fragment of its own (moof + mdat, so a frame leaves as soon as it arrived:
// no fragment waits for the next frame) and publishes the fragments into the
// fragment ring the HTTP viewers read. Without viewers it reads nothing and
// muxes nothing; it only keeps the init segment of the current stream ready.
import type { PacketInput, PacketRecord, PacketStream, PacketStreamInput } from '@heart/ring'
import type { LiveMp4Control } from './live-mp4-layout.js'

/** The crate's Mp4Muxer as the worker uses it (structural, so tests may pass the real one or a fake). */
export interface LiveFragmentMuxer {
  readonly initSegment: Uint8Array
  readonly mimeCodec: string
  write(data: Uint8Array, ptsUs: number, dtsUs: number, durationUs: number, keyframe: boolean): void
  cut(): Uint8Array
  close(): void
}

export type LiveMuxerFactory = (options: { codec: PacketStream['codec']; width: number; height: number; codecConfig: Uint8Array }) => LiveFragmentMuxer

export interface LivePacketReader {
  next(): PacketRecord | null
  wait(timeoutMs: number): Promise<boolean>
  seek(start: 'latest-keyframe'): void
  stats(): { dropped: Record<string, number> }
}

export interface LiveMp4MuxerOptions {
  packets: { stream(): PacketStream | null; reader(options: { name: string; start: 'latest-keyframe' }): LivePacketReader }
  fragments: { setStream(stream: PacketStreamInput): number; write(packet: PacketInput): number }
  control: LiveMp4Control
  muxer: LiveMuxerFactory
  log: { warn(msg: string, fields?: object): void }
  /** Monotonic ns and wall ms now (injectable for tests). */
  monotonicNs?: () => bigint
  wallMs?: () => number
}

/** The crate's track timescale (native/src/mux.rs TIMESCALE): media times in the prft boxes use it. */
export const LIVE_TIMESCALE = 90_000
/** Seconds from 1900 (NTP's epoch) to 1970. */
const NTP_UNIX_OFFSET_S = 2_208_988_800
const PRFT_BYTES = 32
const STATUS_EVERY_MS = 500

interface Session {
  epoch: number
  muxer: LiveFragmentMuxer
  stream: PacketStream
  /** Camera time of the session's first sample (its media time 0), once one was written. */
  originUs: number | null
  lastDtsUs: number
  nominalDurationUs: number
}

export class LiveMp4Muxer {
  private session: Session | null = null
  private muxing = false
  private fragments = 0
  private readonly reader: LivePacketReader
  private readonly now: () => bigint
  private readonly wall: () => number
  private nextStatusAt = 0

  constructor(private readonly o: LiveMp4MuxerOptions) {
    this.reader = o.packets.reader({ name: 'live', start: 'latest-keyframe' })
    this.now = o.monotonicNs ?? (() => process.hrtime.bigint())
    this.wall = o.wallMs ?? Date.now
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.followStream()
      this.reportStatus(false)
      if (!this.o.control.wanted() || !this.session) {
        if (this.muxing) this.reportStatus(true, 'ready')
        this.muxing = false
        await this.o.control.waitWanted(250)
        continue
      }
      if (!this.muxing) this.resume()
      const record = this.reader.next()
      if (!record) {
        await this.reader.wait(100)
        continue
      }
      this.push(record)
    }
    this.session?.muxer.close()
    this.session = null
  }

  /** Muxes one packet into one fragment and publishes it. Exposed for tests. */
  push(record: PacketRecord): void {
    let session = this.session
    if (!session || record.epoch !== session.epoch) {
      // Packets of a stream the worker has not opened yet (the camera just reopened): open it first.
      this.followStream()
      session = this.session
      if (!session || record.epoch !== session.epoch) return
    }
    if (session.originUs === null) {
      if (!record.keyframe) return
      session.originUs = cameraTimeUs(record)
      session.lastDtsUs = -1
    }
    let dts = cameraTimeUs(record) - session.originUs
    // The muxer wants decode times that strictly increase; a camera's clock may stall or step back.
    if (dts <= session.lastDtsUs) dts = session.lastDtsUs + 1
    const pts = Number.isFinite(record.ptsUs) && Number.isFinite(record.dtsUs) ? dts + Math.max(0, record.ptsUs - record.dtsUs) : dts
    const durationUs = record.durationUs > 0 ? record.durationUs : session.nominalDurationUs
    let fragment: Uint8Array
    try {
      session.muxer.write(record.data, pts, dts, durationUs, record.keyframe)
      fragment = session.muxer.cut()
    } catch (error) {
      // One bad packet must not end the live view: the next keyframe starts clean.
      this.o.log.warn('live mp4: a packet could not be muxed; waiting for the next keyframe', { error: error instanceof Error ? error.message : String(error) })
      this.reopen(session.stream)
      return
    }
    session.lastDtsUs = dts
    const captureWallMs = this.wall() - Number(this.now() - record.captureTsNs) / 1e6
    const data = new Uint8Array(PRFT_BYTES + fragment.byteLength)
    writePrft(data, captureWallMs, Math.round((pts * LIVE_TIMESCALE) / 1e6))
    data.set(fragment, PRFT_BYTES)
    this.o.fragments.write({ data, keyframe: record.keyframe, ptsUs: pts, dtsUs: dts, durationUs, captureTsNs: record.captureTsNs })
    this.fragments++
  }

  /** Opens a muxer for the camera's current stream when it changed (the camera reopened). */
  private followStream(): void {
    const stream = this.o.packets.stream()
    if (!stream || stream.epoch === this.session?.epoch) return
    this.reopen(stream)
  }

  private reopen(stream: PacketStream): void {
    this.session?.muxer.close()
    this.session = null
    let muxer: LiveFragmentMuxer
    try {
      muxer = this.o.muxer({ codec: stream.codec, width: stream.width, height: stream.height, codecConfig: stream.codecConfig })
    } catch (error) {
      const problem = `the camera's ${stream.codec} stream cannot be muxed: ${error instanceof Error ? error.message : String(error)}`
      this.o.control.report({ state: 'failed', problem, mimeCodec: '' })
      return
    }
    this.session = { epoch: stream.epoch, muxer, stream, originUs: null, lastDtsUs: -1, nominalDurationUs: stream.fps > 0 ? 1e6 / stream.fps : 33_333 }
    this.publishInit()
    this.o.control.report({ state: this.muxing ? 'muxing' : 'ready', problem: '', mimeCodec: muxer.mimeCodec })
  }

  /**
   * Starts a new fragment-ring epoch with the session's init segment: viewers
   * begin at its first keyframe fragment and never at fragments left from an
   * earlier viewing (their epoch is older).
   */
  private publishInit(): void {
    const session = this.session!
    const init = session.muxer.initSegment
    const { codec, width, height, fps } = session.stream
    this.o.fragments.setStream({ codec, width, height, fps, codecConfig: init })
  }

  private resume(): void {
    this.muxing = true
    this.reader.seek('latest-keyframe')
    if (this.session) {
      // A new epoch for this viewing; the muxer and its timeline carry on.
      this.publishInit()
    }
    this.reportStatus(true, 'muxing')
  }

  private reportStatus(force: boolean, state?: 'ready' | 'muxing'): void {
    const now = Date.now()
    if (!force && now < this.nextStatusAt) return
    this.nextStatusAt = now + STATUS_EVERY_MS
    const lost = Object.entries(this.reader.stats().dropped).reduce((sum, [, n]) => sum + n, 0)
    this.o.control.report({ fragments: this.fragments, packetsLost: lost, ...(state ? { state } : {}) })
  }
}

/** The packet's place on the camera's timeline: decode time, else presentation time, else receipt. */
function cameraTimeUs(record: Pick<PacketRecord, 'dtsUs' | 'ptsUs' | 'captureTsNs'>): number {
  if (Number.isFinite(record.dtsUs)) return record.dtsUs
  if (Number.isFinite(record.ptsUs)) return record.ptsUs
  return Number(record.captureTsNs / 1000n)
}

/**
 * An ISO BMFF ProducerReferenceTimeBox (prft, version 1) for track 1: the
 * wall-clock time (NTP format) heart received the frame whose presentation
 * time is mediaTime. It precedes the fragment's moof, as the format says; the
 * live page reads it to measure glass-to-glass latency and players skip it.
 */
function writePrft(out: Uint8Array, wallMs: number, mediaTime: number): void {
  const view = new DataView(out.buffer, out.byteOffset, PRFT_BYTES)
  view.setUint32(0, PRFT_BYTES)
  out.set([0x70, 0x72, 0x66, 0x74], 4) // 'prft'
  view.setUint32(8, 0x01000000) // version 1, flags 0
  view.setUint32(12, 1) // reference_track_ID
  const seconds = Math.floor(wallMs / 1000)
  view.setUint32(16, (seconds + NTP_UNIX_OFFSET_S) >>> 0)
  view.setUint32(20, Math.floor(((wallMs - seconds * 1000) / 1000) * 2 ** 32) >>> 0)
  view.setUint32(24, Math.floor(mediaTime / 2 ** 32))
  view.setUint32(28, mediaTime >>> 0)
}
