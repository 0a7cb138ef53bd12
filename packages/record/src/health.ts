// The recorder's health, shared from its worker to the main thread (the
// /health "recorder" section) through one small block: the main thread
// reads it without waiting on the worker, which may be inside a slow write.
import { SharedBlock, defineSharedBlock, type SharedBlockOf } from '@heart/ring'

export const RECORDER_STATES = ['starting', 'waiting_for_stream', 'recording', 'paused_disk_full', 'storage_missing', 'failing', 'stopped'] as const
export type RecorderState = (typeof RECORDER_STATES)[number]

/** States in which the camera is not being recorded although it should be: health is not green. */
export const RECORDER_TROUBLE: ReadonlySet<RecorderState> = new Set(['paused_disk_full', 'storage_missing', 'failing'])

export type RecorderHealth = {
  state: RecorderState
  /** What is wrong and what to do, while in a trouble state. */
  reason: string | null
  /** The segment being written. */
  file: string | null
  segments_total: number
  frames_total: number
  bytes_total: number
  clips_total: number
  /** Packets lost before the muxer: the recorder fell behind (recorder_slow) or was paused. */
  dropped: { recorder_slow: number; recorder_paused: number }
  /** Packets left out while waiting for a keyframe to start a file. */
  waited_for_keyframe: number
  free_mb: number | null
  last_write_age_ms: number | null
}

const FIELDS = [
  'state', 'segments_total', 'frames_total', 'bytes_total', 'clips_total', 'dropped_slow', 'dropped_paused',
  'waited_for_keyframe', 'free_bytes', 'last_write_at_ms',
] as const
const recorderHealthLayout = defineSharedBlock({
  name: 'recorder health block',
  magic: 0x48524543, // "HREC"
  version: 1,
  f64: FIELDS,
  strings: { reason: 500, file: 500 },
  refuse: (problem) => new RangeError(`recorder health block: ${problem}. Create it with createRecorderHealthBuffer().`),
})
const F = recorderHealthLayout.f64

export function createRecorderHealthBuffer(): SharedArrayBuffer {
  return SharedBlock.create(recorderHealthLayout).buffer
}

export interface RecorderHealthInput extends Omit<RecorderHealth, 'last_write_age_ms' | 'free_mb'> {
  freeBytes: number | null
  lastWriteAtMs: number | null
}

/** Whether a recorder worker has written the block before (this one is a restart). */
export function recorderHealthWritten(buffer: SharedArrayBuffer): boolean {
  return SharedBlock.attach(recorderHealthLayout, buffer).written()
}

/** Worker side. */
export class RecorderHealthWriter {
  private readonly block: SharedBlockOf<typeof recorderHealthLayout>

  constructor(buffer: SharedArrayBuffer) {
    this.block = SharedBlock.attach(recorderHealthLayout, buffer)
  }

  write(h: RecorderHealthInput): void {
    const b = this.block
    b.beginWrite()
    const f = b.f64
    f[F.state] = RECORDER_STATES.indexOf(h.state)
    f[F.segments_total] = h.segments_total
    f[F.frames_total] = h.frames_total
    f[F.bytes_total] = h.bytes_total
    f[F.clips_total] = h.clips_total
    f[F.dropped_slow] = h.dropped.recorder_slow
    f[F.dropped_paused] = h.dropped.recorder_paused
    f[F.waited_for_keyframe] = h.waited_for_keyframe
    f[F.free_bytes] = h.freeBytes ?? NaN
    f[F.last_write_at_ms] = h.lastWriteAtMs ?? NaN
    b.writeString('reason', h.reason ?? '')
    b.writeString('file', h.file ?? '')
    b.endWrite()
  }
}

/** Main-thread side: the /health section now; null before the worker's first write. Times are Date.now() ms. */
export function readRecorderHealth(buffer: SharedArrayBuffer, nowMs = Date.now()): RecorderHealth | null {
  const block = SharedBlock.attach(recorderHealthLayout, buffer)
  if (!block.written()) return null
  return block.snapshot((b) => readSnapshot(b, nowMs), 100)
}

function readSnapshot(b: SharedBlockOf<typeof recorderHealthLayout>, nowMs: number): RecorderHealth {
  const f = b.f64
  const reason = b.readString('reason')
  const file = b.readString('file')
  const lastWrite = f[F.last_write_at_ms]!
  const free = f[F.free_bytes]!
  return {
    state: RECORDER_STATES[f[F.state]!] ?? 'failing',
    reason: reason === '' ? null : reason,
    file: file === '' ? null : file,
    segments_total: f[F.segments_total]!,
    frames_total: f[F.frames_total]!,
    bytes_total: f[F.bytes_total]!,
    clips_total: f[F.clips_total]!,
    dropped: { recorder_slow: f[F.dropped_slow]!, recorder_paused: f[F.dropped_paused]! },
    waited_for_keyframe: f[F.waited_for_keyframe]!,
    free_mb: Number.isNaN(free) ? null : Math.round(free / 1024 / 1024),
    last_write_age_ms: Number.isNaN(lastWrite) ? null : Math.max(0, Math.round(nowMs - lastWrite)),
  }
}
