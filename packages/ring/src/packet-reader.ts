import { waitOnWord } from './wait.js'
import { E_EPOCH, E_FLAGS, E_LENGTH, EB_CAPTURE_TS, EF_DTS_US, EF_DURATION_US, EF_POSITION, EF_PTS_US, ENTRY_I32, ENTRY_WORDS, PACKET_DROP_REASON_NAMES, PacketDropReason, PacketFlags, type PacketDropReasonCode, type PacketViews, packetRingLayout } from './packet-layout.js'
import { checkConsumerName } from './consumer.js'
import { invalidArgument } from './errors.js'

/** One packet as a reader gets it. */
export interface PacketRecord {
  seq: bigint
  /** The stream it belongs to: a change means the camera was reopened (a recorder starts a new file). */
  epoch: number
  keyframe: boolean
  ptsUs: number
  dtsUs: number
  durationUs: number
  captureTsNs: bigint
  /** A view into the reader's own scratch buffer: valid until its next next(); copy it to keep it. */
  data: Uint8Array
}

/** Where a new reader (or a seek) starts. */
export type PacketStart = 'latest-keyframe' | 'next' | { atOrBeforeCaptureNs: bigint }

export interface PacketReaderOptions {
  /** Lower-case letters, digits and underscores; drops are reported as `<name>_slow`. */
  name: string
  /** Default 'latest-keyframe': a live viewer or a clip starts at once. */
  start?: PacketStart
}

export interface PacketReaderStats {
  delivered: number
  /** Packets published while reading that this reader never got, by reason (`<name>_slow`, `no_keyframe`). */
  dropped: Record<string, number>
  /** Packets published that this reader has not read yet. */
  lag: number
}

const tickWord = packetRingLayout.i32.publishTick

/**
 * One reader of a packet ring, in its own thread. It reads records in seq
 * order, copying each out of shared memory and checking afterwards that the
 * producer did not overwrite it meanwhile, so a torn record is never
 * returned. Readers are invisible to the producer: each keeps its own books,
 * and one falling behind costs nobody else a packet.
 */
export class PacketReader {
  readonly name: string
  private readonly v: PacketViews
  private nextSeq = 0
  /** Epoch of the last record delivered (-1: none yet). */
  private epoch = -1
  /** Set while the reader must skip to a keyframe: why it is skipping. */
  private skipping: PacketDropReasonCode | null = null
  private scratch = new Uint8Array(0)
  private delivered = 0
  private readonly dropped = [0, 0]

  constructor(views: PacketViews, options: PacketReaderOptions) {
    checkConsumerName(options.name, 'packet reader')
    this.name = options.name
    this.v = views
    this.seek(options.start ?? 'latest-keyframe')
  }

  /**
   * Moves the reader to a start point. Packets it passes over are not
   * counted as drops: the reader asked for them not to come.
   */
  seek(start: PacketStart): void {
    const v = this.v
    const published = v.published()
    let from: number | null
    if (start === 'next') from = null
    else if (start === 'latest-keyframe') from = this.latestKeyframe(published)
    else if (typeof start === 'object' && start !== null && typeof start.atOrBeforeCaptureNs === 'bigint') from = this.keyframeAtOrBefore(published, start.atOrBeforeCaptureNs)
    else throw invalidArgument(`packet reader "${this.name}": start must be 'latest-keyframe', 'next' or { atOrBeforeCaptureNs: bigint }, got ${JSON.stringify(start, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))}`)
    if (from === null) {
      this.nextSeq = published
      this.skipping = PacketDropReason.NO_KEYFRAME
    } else {
      this.nextSeq = from
      this.skipping = null
    }
  }

  /** The next record, or null when the reader has caught up with the producer. */
  next(): PacketRecord | null {
    const v = this.v
    for (;;) {
      const seq = this.nextSeq
      if (seq >= this.published()) return null
      if (!v.holds(seq)) {
        this.skipGap()
        continue
      }
      const b32 = (seq % v.indexEntries) * ENTRY_I32
      const b64 = (seq % v.indexEntries) * ENTRY_WORDS
      const keyframe = (v.index32[b32 + E_FLAGS]! & PacketFlags.KEYFRAME) !== 0
      const epoch = v.index32[b32 + E_EPOCH]!
      if (!keyframe && (this.skipping !== null || epoch !== this.epoch)) {
        // Decide on the flags only once they are known to be this record's.
        if (!v.stillHolds(seq)) {
          this.skipGap()
          continue
        }
        const reason = this.skipping ?? PacketDropReason.NO_KEYFRAME
        this.dropped[reason]!++
        this.skipping = reason
        this.nextSeq = seq + 1
        continue
      }
      const length = v.index32[b32 + E_LENGTH]!
      const position = v.indexF64[b64 + EF_POSITION]!
      const ptsUs = v.indexF64[b64 + EF_PTS_US]!
      const dtsUs = v.indexF64[b64 + EF_DTS_US]!
      const durationUs = v.indexF64[b64 + EF_DURATION_US]!
      const captureTsNs = v.index64[b64 + EB_CAPTURE_TS]!
      const at = position % v.dataBytes
      // A torn read can give any length: bound it before sizing the scratch buffer by it.
      if (length < 0 || at + length > v.dataBytes) {
        if (!v.stillHolds(seq)) this.skipGap()
        else throw invalidArgument(`packet ring record ${seq} claims ${length} bytes at ${at}, beyond the ${v.dataBytes}-byte data region: the buffer is corrupt`)
        continue
      }
      if (this.scratch.byteLength < length) this.scratch = new Uint8Array(Math.max(length, this.scratch.byteLength * 2, 4096))
      this.scratch.set(v.data.subarray(at, at + length))
      if (!v.stillHolds(seq)) {
        this.skipGap()
        continue
      }
      this.skipping = null
      this.epoch = epoch
      this.nextSeq = seq + 1
      this.delivered++
      return { seq: BigInt(seq), epoch, keyframe, ptsUs, dtsUs, durationUs, captureTsNs, data: this.scratch.subarray(0, length) }
    }
  }

  /**
   * Resolves true when a packet this reader has not read may be there, false
   * after `timeoutMs` without one. Never blocks the thread.
   */
  async wait(timeoutMs: number): Promise<boolean> {
    const tick = Atomics.load(this.v.header, tickWord)
    if (this.published(tick) > this.nextSeq) return true
    await waitOnWord(this.v.header, tickWord, tick, timeoutMs)
    return this.published() > this.nextSeq
  }

  stats(): PacketReaderStats {
    const dropped: Record<string, number> = {}
    PACKET_DROP_REASON_NAMES.forEach((reason, i) => {
      dropped[i === PacketDropReason.SLOW ? `${this.name}_slow` : reason] = this.dropped[i]!
    })
    return { delivered: this.delivered, dropped, lag: Math.max(0, this.published() - this.nextSeq) }
  }

  /**
   * Packets published, from the 32-bit tick and this reader's own position
   * (exact while the reader is less than 2^31 packets behind): one atomic
   * load, no retry loop on the hot path.
   */
  private published(tick = Atomics.load(this.v.header, tickWord)): number {
    return this.nextSeq + ((tick - (this.nextSeq | 0)) | 0)
  }

  /**
   * The reader's next record was overwritten: go on from the oldest keyframe
   * still held after it, and count every packet passed over as this
   * reader's own loss. With none held, wait for the next one to be published.
   */
  private skipGap(): void {
    const v = this.v
    const published = this.published()
    const from = this.nextSeq
    let to = published
    for (let s = Math.max(from + 1, v.oldestPossible(published)); s < published; s++) {
      if (v.holds(s) && v.isKeyframe(s)) {
        to = s
        break
      }
    }
    this.dropped[PacketDropReason.SLOW]! += to - from
    this.nextSeq = to
    // Checked again by next(): the flags read here may already be a newer record's.
    this.skipping = PacketDropReason.SLOW
  }

  private latestKeyframe(published: number): number | null {
    const v = this.v
    for (let s = published - 1; s >= v.oldestPossible(published); s--) {
      if (v.holds(s) && v.isKeyframe(s)) return s
    }
    return null
  }

  /** The latest keyframe captured at or before `t`, else the oldest keyframe held (DeepStream Smart Record's rule). */
  private keyframeAtOrBefore(published: number, t: bigint): number | null {
    const v = this.v
    let oldest: number | null = null
    let best: number | null = null
    for (let s = v.oldestPossible(published); s < published; s++) {
      if (!v.holds(s) || !v.isKeyframe(s)) continue
      oldest ??= s
      if (v.captureTsNs(s) <= t) best = s
    }
    return best ?? oldest
  }
}
