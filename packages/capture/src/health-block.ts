// The shared health block: the capture worker writes its figures here and
// the main thread reads them at any time without a message round trip, so
// /health never waits on the worker (and a wedged worker shows up as an
// ageing last frame, not a hung request).
import {
  F64_DECODE_ERRORS, F64_DECODE_FIRST, F64_DECODE_P50, F64_DECODE_P99, F64_FAILURES, F64_FRAMES, F64_FRAMES_PER_S,
  F64_LAST_FAILURE_MS, F64_LAST_FRAME_MS, F64_RECV_TO_PUBLISH_P50, F64_RECV_TO_PUBLISH_P99, F64_REOPENS, F64_SLOTS_FULL,
  F64_STARTED_MS, HEALTH_BYTES, HEALTH_MAGIC, HEALTH_VERSION, I32_AI_LOCK, I32_GENERATION, I32_HEIGHT, I32_MAGIC,
  I32_STATE, I32_VERSION, I32_WIDTH, STATE_CODES, STR_BACKEND, STR_CODEC, STR_ERROR_CODE, STR_ERROR_MESSAGE,
  STR_SOURCE, type StringField,
} from './health-layout.js'
import { Histogram } from '@heart/telemetry'
import { monotonicMs, RateWindow, SampleWindow } from './stats.js'
import type { CameraHealth, CaptureState, HealthStatus } from './types.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function createHealthBuffer(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(HEALTH_BYTES)
  const i32 = new Int32Array(buffer)
  const f64 = new Float64Array(buffer)
  i32[I32_MAGIC] = HEALTH_MAGIC
  i32[I32_VERSION] = HEALTH_VERSION
  f64[F64_LAST_FAILURE_MS] = NaN
  f64[F64_LAST_FRAME_MS] = NaN
  f64[F64_DECODE_FIRST] = NaN
  f64[F64_DECODE_P50] = NaN
  f64[F64_DECODE_P99] = NaN
  f64[F64_RECV_TO_PUBLISH_P50] = NaN
  f64[F64_RECV_TO_PUBLISH_P99] = NaN
  f64[F64_STARTED_MS] = monotonicMs()
  return buffer
}

function views(buffer: SharedArrayBuffer): { i32: Int32Array; f64: Float64Array; u8: Uint8Array } {
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEALTH_BYTES) {
    throw new TypeError(`capture health block: expected a SharedArrayBuffer of ${HEALTH_BYTES} bytes from createHealthBuffer()`)
  }
  const i32 = new Int32Array(buffer)
  if (i32[I32_MAGIC] !== HEALTH_MAGIC || i32[I32_VERSION] !== HEALTH_VERSION) {
    throw new TypeError('capture health block: wrong magic or version; create it with createHealthBuffer() from the same @heart/capture')
  }
  return { i32, f64: new Float64Array(buffer), u8: new Uint8Array(buffer) }
}

function writeString(u8: Uint8Array, field: StringField, text: string): void {
  let bytes = encoder.encode(text)
  if (bytes.length > field.capacity) {
    // Cut on a character boundary so the reader never sees half a code point.
    let end = field.capacity
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
    bytes = bytes.subarray(0, end)
  }
  new DataView(u8.buffer, u8.byteOffset).setUint32(field.offset, bytes.length, true)
  u8.set(bytes, field.offset + 4)
}

function readString(u8: Uint8Array, field: StringField): string {
  const len = Math.min(field.capacity, new DataView(u8.buffer, u8.byteOffset).getUint32(field.offset, true))
  // Copy out of shared memory first: TextDecoder refuses SharedArrayBuffer views.
  return decoder.decode(u8.slice(field.offset + 4, field.offset + 4 + len))
}

/** How often the worker recomputes percentiles and the frame rate (cheap counters go out every frame). */
export const SUMMARY_INTERVAL_MS = 250

/** Worker side: accumulates statistics and publishes them into the block. */
export class CaptureHealthWriter {
  private readonly i32: Int32Array
  private readonly f64: Float64Array
  private readonly u8: Uint8Array
  private readonly decodeMs = new SampleWindow(1024)
  private readonly recvToPublishWindow = new SampleWindow(1024)
  /** Whole-run receive-to-publish latency (ms), for summaries and benches. */
  readonly recvToPublish = new Histogram()
  private readonly rate = new RateWindow(2000)
  private lastSummaryMs = -Infinity
  private firstFramePending = true

  constructor(buffer: SharedArrayBuffer, private readonly now: () => number = monotonicMs) {
    const v = views(buffer)
    this.i32 = v.i32
    this.f64 = v.f64
    this.u8 = v.u8
  }

  /** The supervisor's AI-lock, read once per frame. */
  aiLocked(): boolean {
    return Atomics.load(this.i32, I32_AI_LOCK) !== 0
  }

  setSource(redacted: string): void {
    this.write(() => writeString(this.u8, STR_SOURCE, redacted))
  }

  setState(state: CaptureState): void {
    this.write(() => {
      this.i32[I32_STATE] = STATE_CODES.indexOf(state)
    })
  }

  /** A new open is about to start; its first frame's decode time is reported separately. */
  beginOpen(isReopen: boolean): void {
    this.firstFramePending = true
    this.write(() => {
      this.i32[I32_STATE] = STATE_CODES.indexOf('connecting')
      if (isReopen) this.f64[F64_REOPENS]!++
    })
  }

  opened(info: { backend: string; codec: string; width: number; height: number }): void {
    this.write(() => {
      writeString(this.u8, STR_BACKEND, info.backend)
      writeString(this.u8, STR_CODEC, info.codec)
      this.i32[I32_WIDTH] = info.width
      this.i32[I32_HEIGHT] = info.height
    })
  }

  /**
   * A frame was published. `firstFrameMs` is the time from starting the open
   * to this first decoded frame (only looked at for the first frame of an open).
   */
  frame(decodeMs: number, recvToPublishMs: number, firstFrameMs?: number): void {
    const now = this.now()
    this.decodeMs.add(decodeMs)
    this.recvToPublishWindow.add(recvToPublishMs)
    this.recvToPublish.record(recvToPublishMs)
    this.rate.add(now)
    const first = this.firstFramePending
    this.firstFramePending = false
    const summarize = now - this.lastSummaryMs >= SUMMARY_INTERVAL_MS
    if (summarize) this.lastSummaryMs = now
    this.write(() => {
      this.f64[F64_FRAMES]!++
      this.f64[F64_LAST_FRAME_MS] = now
      if (first) {
        this.i32[I32_STATE] = STATE_CODES.indexOf('streaming')
        if (firstFrameMs !== undefined) this.f64[F64_DECODE_FIRST] = firstFrameMs
      }
      if (summarize) this.writeSummary(now)
    })
  }

  decodeError(): void {
    const now = this.now()
    this.write(() => {
      this.f64[F64_DECODE_ERRORS]!++
      this.f64[F64_LAST_FAILURE_MS] = now
    })
  }

  slotsFull(): void {
    this.write(() => {
      this.f64[F64_SLOTS_FULL]!++
    })
  }

  /** The open or the running stream failed (errors are already redacted by the caller). */
  failure(error: { code: string; message: string }): void {
    const now = this.now()
    this.rate.clear()
    this.write(() => {
      this.f64[F64_FAILURES]!++
      this.f64[F64_LAST_FAILURE_MS] = now
      this.i32[I32_STATE] = STATE_CODES.indexOf('backoff')
      writeString(this.u8, STR_ERROR_CODE, error.code)
      writeString(this.u8, STR_ERROR_MESSAGE, error.message)
      this.writeSummary(now)
    })
  }

  /** Refresh rate and percentiles now (also called on a timer so a silent stream's rate decays). */
  summarize(): void {
    const now = this.now()
    this.lastSummaryMs = now
    this.write(() => this.writeSummary(now))
  }

  private writeSummary(now: number): void {
    const [p50, p99] = this.decodeMs.percentiles(50, 99)
    const [l50, l99] = this.recvToPublishWindow.percentiles(50, 99)
    this.f64[F64_FRAMES_PER_S] = this.rate.rate(now)
    this.f64[F64_DECODE_P50] = p50 ?? NaN
    this.f64[F64_DECODE_P99] = p99 ?? NaN
    this.f64[F64_RECV_TO_PUBLISH_P50] = l50 ?? NaN
    this.f64[F64_RECV_TO_PUBLISH_P99] = l99 ?? NaN
  }

  private write(fn: () => void): void {
    Atomics.add(this.i32, I32_GENERATION, 1) // odd: readers retry
    try {
      fn()
    } finally {
      Atomics.add(this.i32, I32_GENERATION, 1)
    }
  }
}

export interface HealthThresholds {
  /** Red when the last frame is older than this (or no frame came this long after start). */
  redAfterMs: number
  /** Yellow for this long after the latest failure or decode error. */
  yellowForMs: number
}

/** Main side: reads a consistent snapshot and applies the green / yellow / red rule. */
export class CaptureHealthReader {
  private readonly i32: Int32Array
  private readonly f64: Float64Array
  private readonly u8: Uint8Array
  constructor(buffer: SharedArrayBuffer, private readonly now: () => number = monotonicMs) {
    const v = views(buffer)
    this.i32 = v.i32
    this.f64 = v.f64
    this.u8 = v.u8
  }

  setAiLock(locked: boolean): void {
    Atomics.store(this.i32, I32_AI_LOCK, locked ? 1 : 0)
    // Nobody waits on this word today; notifying keeps a future blocking reader correct.
    Atomics.notify(this.i32, I32_AI_LOCK)
  }

  aiLocked(): boolean {
    return Atomics.load(this.i32, I32_AI_LOCK) !== 0
  }

  /** After the worker is gone (it may have been terminated before it could say so itself). */
  markStopped(): void {
    Atomics.store(this.i32, I32_STATE, STATE_CODES.indexOf('stopped'))
  }

  snapshot(thresholds: HealthThresholds): CameraHealth {
    for (let attempt = 0; ; attempt++) {
      const before = Atomics.load(this.i32, I32_GENERATION)
      if ((before & 1) === 0 || attempt > 1000) {
        const snap = this.read(thresholds)
        if (Atomics.load(this.i32, I32_GENERATION) === before || attempt > 1000) return snap
      }
    }
  }

  private read(t: HealthThresholds): CameraHealth {
    const now = this.now()
    const f = this.f64
    const lastFrame = f[F64_LAST_FRAME_MS]!
    const lastFailure = f[F64_LAST_FAILURE_MS]!
    const state = STATE_CODES[this.i32[I32_STATE]!] ?? 'idle'
    const age = Number.isNaN(lastFrame) ? null : Math.max(0, now - lastFrame)
    const errorCode = readString(this.u8, STR_ERROR_CODE)
    const health: CameraHealth = {
      state,
      frames_per_s: round(f[F64_FRAMES_PER_S]!, 2) ?? 0,
      decode_ms_p50: round(f[F64_DECODE_P50]!, 3),
      decode_ms_p99: round(f[F64_DECODE_P99]!, 3),
      decode_ms_first_frame: round(f[F64_DECODE_FIRST]!, 3),
      last_frame_age_ms: age === null ? null : Math.round(age),
      reopens_total: f[F64_REOPENS]!,
      decode_errors_total: f[F64_DECODE_ERRORS]!,
      backend: readString(this.u8, STR_BACKEND),
      ai_locked: this.aiLocked(),
      status: 'green',
      source: readString(this.u8, STR_SOURCE),
      codec: readString(this.u8, STR_CODEC),
      width: this.i32[I32_WIDTH]!,
      height: this.i32[I32_HEIGHT]!,
      frames_total: f[F64_FRAMES]!,
      failures_total: f[F64_FAILURES]!,
      slots_full_total: f[F64_SLOTS_FULL]!,
      receive_to_publish_ms_p50: round(f[F64_RECV_TO_PUBLISH_P50]!, 3),
      receive_to_publish_ms_p99: round(f[F64_RECV_TO_PUBLISH_P99]!, 3),
      last_error: errorCode === '' ? null : `${errorCode}: ${readString(this.u8, STR_ERROR_MESSAGE)}`,
      last_error_code: errorCode === '' ? null : errorCode,
    }
    health.status = healthStatus({
      state,
      lastFrameAgeMs: age,
      sinceStartMs: now - f[F64_STARTED_MS]!,
      sinceFailureMs: Number.isNaN(lastFailure) ? null : now - lastFailure,
    }, t)
    return health
  }
}

/**
 * The colour rule, on its own so it is testable and documented in one place:
 * red when frames stopped (or never came) for longer than redAfterMs; yellow
 * when not streaming or a failure happened within yellowForMs; else green.
 */
export function healthStatus(
  s: { state: CaptureState; lastFrameAgeMs: number | null; sinceStartMs: number; sinceFailureMs: number | null },
  t: HealthThresholds,
): HealthStatus {
  if (s.state === 'stopped') return 'red'
  if (s.lastFrameAgeMs !== null ? s.lastFrameAgeMs > t.redAfterMs : s.sinceStartMs > t.redAfterMs) return 'red'
  if (s.state !== 'streaming') return 'yellow'
  if (s.sinceFailureMs !== null && s.sinceFailureMs < t.yellowForMs) return 'yellow'
  return 'green'
}

function round(v: number, digits: number): number | null {
  if (!Number.isFinite(v)) return null
  const k = 10 ** digits
  return Math.round(v * k) / k
}
