// One camera's recorder, as it runs in its worker: reads the packet ring,
// writes segments, applies retention while recording, cuts clips on request,
// and survives its storage: a full disk pauses it (health says so) until
// space returns, a vanished drive is reported and retried, and a slow one
// only makes the recorder fall behind and lose its own packets (counted as
// recorder_slow by the ring). Capture and the other consumers never notice.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { RecordConfig } from './config.js'
import { RECORDER_TROUBLE, type RecorderHealthInput, type RecorderState } from './health.js'
import { freeBytesAt, planRetention } from './retention.js'
import { CLIPS_FOLDER, listSegments, repairSegment, segmentPath } from './segment-files.js'
import { SegmentWriter } from './segment-writer.js'
import type { MuxerFactory, PacketRecord, PacketStream } from './types.js'

/** The packet ring as the recorder reads it (the ring's reader has this shape). */
export interface PacketReader {
  next(): PacketRecord | null
  wait(timeoutMs: number): Promise<boolean>
  stats(): { delivered: number; dropped: Record<string, number>; lag: number }
  close?(): void
}

export interface PacketSource {
  stream(): PacketStream | null
  reader(options: { name: string; start?: 'latest-keyframe' | 'next' | { atOrBeforeCaptureNs: bigint } }): PacketReader
}

export interface RecorderLog {
  info(msg: string, fields?: object): void
  warn(msg: string, fields?: object): void
  error(msg: string, fields?: object): void
}

/** A clip to cut: from the keyframe at or before eventNs - preSeconds to eventNs + postSeconds. */
export interface ClipRequest {
  /** CLOCK_MONOTONIC ns of the event (a frame's capture time). */
  eventCaptureTsNs: bigint
  preSeconds: number
  postSeconds: number
  /** 'manual', 'motion', 'detection': in the file name. */
  reason: string
  /** Saved beside the clip as JSON (the event's payload). */
  payload?: unknown
  /** Where to write it (the main thread picks it so it can answer the request at once). */
  path: string
}

export interface RecorderOptions {
  camera: string
  root: string
  config: Pick<RecordConfig, 'segmentSeconds' | 'fragmentSeconds' | 'retain'>
  source: PacketSource
  muxer: MuxerFactory
  log: RecorderLog
  health(h: RecorderHealthInput): void
  emit?(type: string, payload: unknown): void
  /** How often retention runs and a paused recorder looks for space again. */
  housekeepingMs?: number
  /**
   * Where reading starts: 'oldest' (the first start: from the oldest keyframe
   * the packet ring still holds, so the frames published while the workers
   * started are recorded too) or 'latest-keyframe' (default; a restarted
   * recorder, whose predecessor wrote the older ones).
   */
  startFrom?: 'oldest' | 'latest-keyframe'
}

const HEALTH_EVERY_MS = 500
const STORAGE_FULL = new Set(['ENOSPC', 'EDQUOT'])
/** After the disk itself said full, recording resumes once this much more than retain.minFreeMb is free (no flapping at the edge). */
const RESUME_MARGIN_BYTES = 8 * 1024 * 1024

interface ActiveClip {
  request: ClipRequest
  reader: PacketReader
  writer: SegmentWriter
  untilNs: bigint
  epoch: number | null
}

export class Recorder {
  private state: RecorderState = 'starting'
  private reason: string | null = null
  private readonly writer: SegmentWriter
  private readonly reader: PacketReader
  private readonly clips: ActiveClip[] = []
  private clipsTotal = 0
  /** Paths of clips already written (bounded): a late extension of one must not reopen it. */
  private readonly finishedClips = new Set<string>()
  private pausedDrops = 0
  private freeBytes: number | null = null
  /** The disk refused a write as full: resume only with a margin of space. */
  private diskSaidFull = false
  private lastWriteAtMs: number | null = null
  private readonly cameraDir: string

  constructor(private readonly o: RecorderOptions) {
    this.cameraDir = join(o.root, o.camera)
    this.writer = new SegmentWriter({
      segmentSeconds: o.config.segmentSeconds,
      fragmentSeconds: o.config.fragmentSeconds,
      pathFor: (wallMs) => segmentPath(o.root, o.camera, wallMs),
      muxer: o.muxer,
      metadata: { heart_camera: o.camera },
      onSegmentClosed: (s) => o.emit?.('recording.segment', { camera: o.camera, path: s.path, frames: s.frames, bytes: s.bytes }),
    })
    // A capture time of 0 is before everything: the reader starts at the oldest keyframe held.
    this.reader = o.source.reader({ name: 'recorder', start: o.startFrom === 'oldest' ? { atOrBeforeCaptureNs: 0n } : 'latest-keyframe' })
  }

  /** Records until the signal aborts; never throws for storage trouble. */
  async run(signal: AbortSignal): Promise<void> {
    await this.prepareStorage()
    let nextHealth = 0
    let nextHousekeeping = 0
    const housekeepingMs = this.o.housekeepingMs ?? 10_000
    while (!signal.aborted) {
      const now = Date.now()
      if (now >= nextHousekeeping) {
        nextHousekeeping = now + (RECORDER_TROUBLE.has(this.state) ? Math.min(2000, housekeepingMs) : housekeepingMs)
        await this.housekeeping()
      }
      if (now >= nextHealth) {
        nextHealth = now + HEALTH_EVERY_MS
        this.writeHealth()
      }
      const record = this.reader.next()
      if (!record) {
        this.serveClips()
        await this.reader.wait(100)
        continue
      }
      this.record(record)
      this.serveClips()
    }
    this.finish()
  }

  /** Starts a clip; it is written as its packets arrive (those before the event come from the ring's history). */
  clip(request: ClipRequest): void {
    // An extension that arrived after its clip had ended (the event's consumer lagged): the clip stays as it is.
    if (this.finishedClips.has(request.path)) return
    const startNs = request.eventCaptureTsNs - BigInt(Math.round(request.preSeconds * 1e9))
    const untilNs = request.eventCaptureTsNs + BigInt(Math.round(request.postSeconds * 1e9))
    // A request for a clip being cut is its extension (the main thread decides what extends what: record.maxClipSeconds).
    const same = this.clips.find((c) => c.request.path === request.path)
    if (same) {
      if (untilNs > same.untilNs) same.untilNs = untilNs
      return
    }
    const reader = this.o.source.reader({ name: `clip_${this.clipsTotal + 1}`, start: { atOrBeforeCaptureNs: startNs } })
    const writer = new SegmentWriter({
      segmentSeconds: Number.MAX_SAFE_INTEGER / 1e6,
      fragmentSeconds: this.o.config.fragmentSeconds,
      pathFor: () => request.path,
      muxer: this.o.muxer,
      metadata: { heart_camera: this.o.camera, heart_clip_reason: request.reason },
    })
    this.clipsTotal++
    this.clips.push({ request, reader, writer, untilNs, epoch: null })
    if (request.payload !== undefined) {
      try {
        mkdirSync(join(this.cameraDir, CLIPS_FOLDER), { recursive: true })
        writeFileSync(request.path.replace(/\.mp4$/, '.json'), JSON.stringify({ camera: this.o.camera, reason: request.reason, event_capture_ts_ns: String(request.eventCaptureTsNs), payload: request.payload }, null, 2) + '\n')
      } catch (error) {
        this.o.log.warn('clip event payload not saved', { path: request.path, error: errorText(error) })
      }
    }
  }

  private record(record: PacketRecord): void {
    const stream = this.o.source.stream()
    if (!stream || stream.epoch !== record.epoch) return // the stream description of a reopen not seen yet
    if (RECORDER_TROUBLE.has(this.state)) {
      this.pausedDrops++
      return
    }
    try {
      this.writer.push(record, stream)
      this.lastWriteAtMs = Date.now()
      this.setState('recording', null)
    } catch (error) {
      this.storageFailed(error)
    }
  }

  private serveClips(): void {
    for (const clip of [...this.clips]) {
      let done = false
      for (let n = 0; n < 64 && !done; n++) {
        const record = clip.reader.next()
        if (!record) break
        const stream = this.o.source.stream()
        if (!stream || stream.epoch !== record.epoch) continue
        // A clip is one file of one stream: a reopen (new parameters) ends it.
        if (clip.epoch !== null && record.epoch !== clip.epoch) done = true
        else if (record.captureTsNs > clip.untilNs) done = true
        else {
          try {
            clip.writer.push(record, stream)
            clip.epoch = record.epoch
          } catch (error) {
            this.o.log.warn('clip not completed: the recording folder refused a write', { path: clip.request.path, error: errorText(error) })
            clip.writer.abandon()
            done = true
          }
        }
      }
      if (done) this.endClip(clip)
    }
  }

  private endClip(clip: ActiveClip): void {
    this.clips.splice(this.clips.indexOf(clip), 1)
    this.finishedClips.add(clip.request.path)
    if (this.finishedClips.size > 1000) this.finishedClips.delete(this.finishedClips.values().next().value!)
    try {
      clip.writer.close()
    } catch (error) {
      this.o.log.warn('clip not completed', { path: clip.request.path, error: errorText(error) })
    }
    clip.reader.close?.()
    this.o.emit?.('recording.clip', { camera: this.o.camera, path: clip.request.path, reason: clip.request.reason, frames: clip.writer.stats.frames })
  }

  /** The folder must exist: created on the first run; later, its vanishing is a drive that went away. */
  private async prepareStorage(): Promise<void> {
    if (!existsSync(this.o.root)) {
      try {
        mkdirSync(this.o.root, { recursive: true })
      } catch (error) {
        this.setState('storage_missing', `cannot create the recording folder ${this.o.root} (${errorText(error)}); create it or set record.dir to a writable folder`)
        return
      }
    }
    // The newest files may have been cut by a crash: make them whole before anything lists or plays them.
    const segments = await listSegments(this.o.root, this.o.camera).catch(() => [])
    for (const segment of segments.slice(-2)) {
      const outcome = await repairSegment(segment.path).catch((error: unknown) => ({ action: 'failed' as const, reason: errorText(error) }))
      if (outcome.action !== 'ok') this.o.log.warn('repaired a segment left unfinished by the last run', { path: segment.path, ...outcome, scan: undefined })
    }
    this.setState('waiting_for_stream', null)
  }

  /** Retention, and the way back from a pause: space returned, drive back. */
  private async housekeeping(): Promise<void> {
    if (!existsSync(this.o.root)) {
      if (this.state !== 'storage_missing') this.writer.abandon()
      this.setState('storage_missing', `the recording folder ${this.o.root} is gone (drive unplugged or unmounted?); recording resumes when it is back`)
      return
    }
    const { hours, minFreeMb } = this.o.config.retain
    try {
      this.freeBytes = await freeBytesAt(this.o.root)
      const plan = planRetention({ hours, minFreeMb }, {
        segments: await listSegments(this.o.root, this.o.camera),
        nowMs: Date.now(),
        freeBytes: this.freeBytes,
        writing: new Set([this.writer.currentPath].filter((p): p is string => p !== null)),
      })
      for (const { segment, why } of plan.delete) {
        await unlink(segment.path).catch(() => {})
        this.o.log.info('retention deleted a segment', { path: segment.path, why, bytes: segment.bytes })
      }
      this.freeBytes = plan.freeBytesAfter
      const needed = minFreeMb * 1024 * 1024 + (this.diskSaidFull ? RESUME_MARGIN_BYTES : 0)
      if (this.diskSaidFull && plan.freeBytesAfter < needed) {
        this.setState('paused_disk_full', `the disk holding ${this.o.root} is full (${Math.round(plan.freeBytesAfter / 1024 / 1024)} MB free): recording is paused until ${Math.ceil(needed / 1024 / 1024)} MB are free; retention frees space by age (retain.hours) and retain.minFreeMb`)
      } else if (plan.stillShort) {
        if (this.state !== 'paused_disk_full') this.writer.abandon()
        this.setState('paused_disk_full', `only ${Math.round(plan.freeBytesAfter / 1024 / 1024)} MB free in ${this.o.root} and retain.minFreeMb is ${minFreeMb}: recording is paused until space returns (free space, or lower retain.minFreeMb)`)
      } else if (RECORDER_TROUBLE.has(this.state)) {
        this.diskSaidFull = false
        this.o.log.info('recording resumes', { root: this.o.root, free_mb: Math.round(plan.freeBytesAfter / 1024 / 1024) })
        this.setState('waiting_for_stream', null)
      }
    } catch (error) {
      this.o.log.warn('retention check failed', { root: this.o.root, error: errorText(error) })
    }
  }

  private storageFailed(error: unknown): void {
    this.writer.abandon()
    const code = (error as { code?: string }).code ?? ''
    if (STORAGE_FULL.has(code)) {
      this.diskSaidFull = true
      this.setState('paused_disk_full', `the disk holding ${this.o.root} is full (${code}): recording is paused until space returns; retention frees space by age and retain.minFreeMb`)
    } else if (!existsSync(this.o.root)) {
      this.setState('storage_missing', `the recording folder ${this.o.root} is gone (drive unplugged or unmounted?); recording resumes when it is back`)
    } else {
      this.setState('failing', `writing to ${this.o.root} failed (${errorText(error)}); retrying every few seconds`)
    }
  }

  private setState(state: RecorderState, reason: string | null): void {
    if (state === this.state && reason === this.reason) return
    const was = this.state
    this.state = state
    this.reason = reason
    if (RECORDER_TROUBLE.has(state)) this.o.log.warn('recording stopped', { camera: this.o.camera, state, reason })
    if (RECORDER_TROUBLE.has(state) || RECORDER_TROUBLE.has(was)) this.o.emit?.('health.change', { component: 'recorder', camera: this.o.camera, from: was, to: state, reason })
    this.writeHealth()
  }

  private writeHealth(): void {
    const ws = this.writer.stats
    const rs = this.reader.stats()
    this.o.health({
      state: this.state,
      reason: this.reason,
      file: this.writer.currentPath,
      segments_total: ws.segments,
      frames_total: ws.frames,
      bytes_total: ws.bytes,
      clips_total: this.clipsTotal,
      dropped: { recorder_slow: rs.dropped.recorder_slow ?? 0, recorder_paused: this.pausedDrops },
      waited_for_keyframe: ws.waitedForKeyframe,
      freeBytes: this.freeBytes,
      lastWriteAtMs: this.lastWriteAtMs,
    })
  }

  private finish(): void {
    for (const clip of [...this.clips]) this.endClip(clip)
    try {
      this.writer.close()
    } catch (error) {
      this.o.log.warn('the last segment was not closed cleanly', { error: errorText(error) })
    }
    this.reader.close?.()
    this.setState('stopped', null)
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
