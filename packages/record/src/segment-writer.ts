// Turns a camera's packets into fragmented MP4 files: one file per segment
// (each starting at a keyframe), one fragment about every fragmentSeconds
// (cut at a keyframe when one comes in time), each fragment written to disk
// in one write as soon as it is complete. A kill -9 therefore loses at most
// the fragment being filled, and every file on disk ends on a whole fragment
// (or, after a crash mid-write, is repaired at the next start).
import { closeSync, mkdirSync, openSync, writeSync, ftruncateSync } from 'node:fs'
import { dirname } from 'node:path'
import type { FragmentMuxer, MuxerFactory, PacketRecord, PacketStream } from './types.js'

/** The least a decode time moves forward: a millisecond is a tick of every MP4 timescale the muxer may pick. */
const MIN_DTS_STEP_US = 1000

export interface SegmentWriterOptions {
  segmentSeconds: number
  fragmentSeconds: number
  /** The path of a new segment starting at this wall-clock time. */
  pathFor(wallMs: number): string
  muxer: MuxerFactory
  /** Metadata written into every file (the camera's name). */
  metadata?: Record<string, string>
  /** Monotonic ns now, and wall ms now (injectable for tests). */
  monotonicNs?: () => bigint
  wallMs?: () => number
  /** Called after a segment file is closed. */
  onSegmentClosed?(segment: ClosedSegment): void
}

/** A segment that was written and closed. */
export interface ClosedSegment {
  path: string
  frames: number
  bytes: number
  startWallMs: number
  startCaptureTsNs: bigint
  endCaptureTsNs: bigint
}

interface OpenSegment {
  path: string
  fd: number
  muxer: FragmentMuxer
  epoch: number
  startWallMs: number
  startCaptureTsNs: bigint
  lastCaptureTsNs: bigint
  /** Timeline origin of this file: its first packet's dts. */
  originUs: number
  lastDtsUs: number
  fragmentStartUs: number
  /** Samples in the fragment being filled. */
  pendingSamples: number
  /** Samples in the fragments on disk. */
  frames: number
  /** Bytes on disk (whole fragments only). */
  bytes: number
  nominalDurationUs: number
}

/** Counters for health and tests. */
export interface SegmentWriterStats {
  segments: number
  frames: number
  bytes: number
  /** Packets left out while waiting for a keyframe to start a file (after a gap or at start). */
  waitedForKeyframe: number
  /** Packets whose decode time did not increase and was moved just past the one before. */
  timestampsFixed: number
  /** Packets the muxer refused (left out), and why the last one was. */
  rejected: number
  lastRejection: string | null
  /** The file being written, if any. */
  current: string | null
}

export class SegmentWriter {
  private open: OpenSegment | null = null
  /** The last packet's time on the camera's clock and its receipt, for packets that carry no timestamp. */
  private lastTime: { us: number; captureTsNs: bigint } | null = null
  private readonly now: () => bigint
  private readonly wall: () => number
  readonly stats: SegmentWriterStats = { segments: 0, frames: 0, bytes: 0, waitedForKeyframe: 0, timestampsFixed: 0, rejected: 0, lastRejection: null, current: null }

  constructor(private readonly o: SegmentWriterOptions) {
    this.now = o.monotonicNs ?? (() => process.hrtime.bigint())
    this.wall = o.wallMs ?? Date.now
  }

  /**
   * Adds one packet. Throws the file system's error (ENOSPC, ENOENT, EIO)
   * with the file left whole: the caller pauses, and calls push() again
   * later; the next file starts at a keyframe.
   */
  push(record: PacketRecord, stream: PacketStream): void {
    let seg = this.open
    if (seg && record.epoch !== seg.epoch) {
      // The camera reopened: its parameters may differ; a new file starts at its first keyframe.
      this.close()
      seg = null
    }
    const dts = this.timeOf(record)
    if (dts === null) {
      // No timestamp and none before it to go by (an RTSP stream's very first packet): nothing can start here.
      this.stats.waitedForKeyframe++
      return
    }
    // Half a frame of slack: a camera's clock jitters, and a keyframe due at the boundary should start the next file.
    if (seg && record.keyframe && dts - seg.originUs >= this.o.segmentSeconds * 1e6 - seg.nominalDurationUs / 2) {
      this.close()
      seg = null
    }
    if (!seg) {
      if (!record.keyframe) {
        this.stats.waitedForKeyframe++
        return
      }
      seg = this.start(record, stream, dts)
    }
    const sinceFragment = dts - seg.fragmentStartUs
    const fragmentUs = this.o.fragmentSeconds * 1e6 - seg.nominalDurationUs / 2
    if (seg.pendingSamples > 0 && ((record.keyframe && sinceFragment >= fragmentUs) || sinceFragment >= 2 * fragmentUs)) {
      this.flushFragment(seg)
      seg.fragmentStartUs = dts
    }
    let at = dts - seg.originUs
    if (seg.pendingSamples + seg.frames > 0 && at < seg.lastDtsUs + MIN_DTS_STEP_US) {
      // A camera that repeats or steps back a timestamp (RTSP streams do at start): move it just past the one before.
      at = seg.lastDtsUs + MIN_DTS_STEP_US
      this.stats.timestampsFixed++
    }
    const pts = Number.isFinite(record.ptsUs) && Number.isFinite(record.dtsUs) ? Math.max(at, at + (record.ptsUs - record.dtsUs)) : at
    try {
      seg.muxer.write(record.data, pts, at, record.durationUs > 0 ? record.durationUs : seg.nominalDurationUs, record.keyframe)
    } catch (error) {
      // The muxer refused this packet (not the disk): leave it out, count it, and keep the file.
      this.stats.rejected++
      this.stats.lastRejection = error instanceof Error ? error.message : String(error)
      return
    }
    seg.lastDtsUs = at
    seg.lastCaptureTsNs = record.captureTsNs
    seg.pendingSamples++
  }

  /** Writes what is buffered and closes the file (a clean stop, or a pause). */
  close(): void {
    const seg = this.open
    if (!seg) return
    this.open = null
    this.stats.current = null
    try {
      if (seg.pendingSamples > 0) this.flushFragment(seg)
    } finally {
      seg.muxer.close()
      closeSync(seg.fd)
    }
    this.o.onSegmentClosed?.({
      path: seg.path,
      frames: seg.frames,
      bytes: seg.bytes,
      startWallMs: seg.startWallMs,
      startCaptureTsNs: seg.startCaptureTsNs,
      endCaptureTsNs: seg.lastCaptureTsNs,
    })
  }

  /**
   * After a write failed: drops the file being written without another write
   * (its bytes on disk end on a whole fragment) so the next push starts a new
   * file at a keyframe.
   */
  abandon(): void {
    const seg = this.open
    if (!seg) return
    this.open = null
    this.stats.current = null
    seg.muxer.close()
    try {
      closeSync(seg.fd)
    } catch {
      // The drive is gone: nothing left to close.
    }
  }

  /**
   * The packet's decode time on the camera's clock: its dts, else its pts
   * (RTSP gives no dts), else, for a packet with neither (an RTSP stream's
   * first packet comes before the stream's clock is known), the time of the
   * packet before it plus how much later this one was received. null when
   * there is nothing to go by.
   */
  private timeOf(record: PacketRecord): number | null {
    const own = Number.isFinite(record.dtsUs) ? record.dtsUs : Number.isFinite(record.ptsUs) ? record.ptsUs : null
    const last = this.lastTime
    const time = own ?? (last ? last.us + Number(record.captureTsNs - last.captureTsNs) / 1000 : null)
    if (time !== null) this.lastTime = { us: time, captureTsNs: record.captureTsNs }
    return time
  }

  /** The file being written (never deleted by retention). */
  get currentPath(): string | null {
    return this.open?.path ?? null
  }

  private start(record: PacketRecord, stream: PacketStream, dts: number): OpenSegment {
    // The packet's wall-clock time: now, less how long ago it was received.
    const startWallMs = this.wall() - Number(this.now() - record.captureTsNs) / 1e6
    const path = this.o.pathFor(startWallMs)
    mkdirSync(dirname(path), { recursive: true })
    const muxer = this.o.muxer({
      codec: stream.codec,
      width: stream.width,
      height: stream.height,
      codecConfig: stream.codecConfig,
      creationTimeMs: startWallMs,
      metadata: { ...this.o.metadata, heart_capture_ts_ns: String(record.captureTsNs), heart_start_wall_ms: String(Math.round(startWallMs)) },
    })
    let fd: number
    try {
      fd = openSync(path, 'wx')
    } catch (error) {
      muxer.close()
      throw error
    }
    const seg: OpenSegment = {
      path, fd, muxer, epoch: record.epoch, startWallMs, startCaptureTsNs: record.captureTsNs, lastCaptureTsNs: record.captureTsNs,
      originUs: dts, lastDtsUs: 0, fragmentStartUs: dts, pendingSamples: 0, frames: 0, bytes: 0,
      nominalDurationUs: stream.fps > 0 ? 1e6 / stream.fps : 33_333,
    }
    try {
      this.writeWhole(seg, muxer.initSegment)
    } catch (error) {
      muxer.close()
      closeSync(fd)
      throw error
    }
    this.open = seg
    this.stats.segments++
    this.stats.current = path
    return seg
  }

  private flushFragment(seg: OpenSegment): void {
    const fragment = seg.muxer.cut()
    const samples = seg.pendingSamples
    seg.pendingSamples = 0
    if (fragment.length === 0) return
    this.writeWhole(seg, fragment)
    seg.frames += samples
    this.stats.frames += samples
  }

  /** One write of a whole box sequence; on failure the file is cut back to its last whole fragment. */
  private writeWhole(seg: OpenSegment, bytes: Uint8Array): void {
    try {
      let done = 0
      while (done < bytes.length) done += writeSync(seg.fd, bytes, done, bytes.length - done, seg.bytes + done)
    } catch (error) {
      try {
        ftruncateSync(seg.fd, seg.bytes)
      } catch {
        // The drive is gone; the start-up repair cuts the file back when it returns.
      }
      throw error
    }
    seg.bytes += bytes.length
    this.stats.bytes += bytes.length
  }
}

