// The shared health block: the capture worker writes its figures here and
// the main thread reads them at any time without a message round trip, so
// /health never waits on the worker (and a wedged worker shows up as an
// ageing last frame, not a hung request).
import { SharedBlock, type SharedBlockOf } from '@heart/ring'
import { healthLayout, STATE_CODES } from './health-layout.js'
import { Histogram } from '@heart/telemetry'
import { SampleWindow } from '@heart/telemetry'
import { monotonicMs, RateWindow } from './stats.js'
import type { CameraHealth, CaptureState, HealthStatus } from './types.js'

type HealthBlock = SharedBlockOf<typeof healthLayout>
const I = healthLayout.i32
const F = healthLayout.f64

export function createHealthBuffer(): SharedArrayBuffer {
  const block = SharedBlock.create(healthLayout)
  const f64 = block.f64
  f64[F.lastFailureMs] = NaN
  f64[F.lastFrameMs] = NaN
  f64[F.decodeFirst] = NaN
  f64[F.decodeP50] = NaN
  f64[F.decodeP99] = NaN
  f64[F.recvToPublishP50] = NaN
  f64[F.recvToPublishP99] = NaN
  f64[F.startedMs] = monotonicMs()
  return block.buffer
}

/** How often the worker recomputes percentiles and the frame rate (cheap counters go out every frame). */
export const SUMMARY_INTERVAL_MS = 250

/** Worker side: accumulates statistics and publishes them into the block. */
export class CaptureHealthWriter {
  private readonly block: HealthBlock
  private readonly i32: Int32Array
  private readonly f64: Float64Array
  private readonly decodeMs = new SampleWindow(1024)
  private readonly recvToPublishWindow = new SampleWindow(1024)
  /** Whole-run receive-to-publish latency (ms), for summaries and benches. */
  readonly recvToPublish = new Histogram()
  private readonly rate = new RateWindow(2000)
  private lastSummaryMs = -Infinity
  private firstFramePending = true

  constructor(buffer: SharedArrayBuffer, private readonly now: () => number = monotonicMs) {
    this.block = SharedBlock.attach(healthLayout, buffer)
    this.i32 = this.block.i32
    this.f64 = this.block.f64
  }

  /** The supervisor's AI-lock, read once per frame. */
  aiLocked(): boolean {
    return Atomics.load(this.i32, I.aiLock) !== 0
  }

  setSource(redacted: string): void {
    this.block.beginWrite()
    this.block.writeString('source', redacted)
    this.block.endWrite()
  }

  setState(state: CaptureState): void {
    this.block.beginWrite()
    this.i32[I.state] = STATE_CODES.indexOf(state)
    this.block.endWrite()
  }

  /** A new open is about to start; its first frame's decode time is reported separately. */
  beginOpen(isReopen: boolean): void {
    this.firstFramePending = true
    this.block.beginWrite()
    this.i32[I.state] = STATE_CODES.indexOf('connecting')
    if (isReopen) this.f64[F.reopens]!++
    this.block.endWrite()
  }

  opened(info: { backend: string; codec: string; width: number; height: number }): void {
    this.block.beginWrite()
    this.block.writeString('backend', info.backend)
    this.block.writeString('codec', info.codec)
    this.i32[I.width] = info.width
    this.i32[I.height] = info.height
    this.block.endWrite()
  }

  /** The camera renegotiated mid-stream: /health shows the size it sends now. */
  resized(width: number, height: number): void {
    this.block.beginWrite()
    this.i32[I.width] = width
    this.i32[I.height] = height
    this.block.endWrite()
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
    this.block.beginWrite()
    this.f64[F.frames]!++
    this.f64[F.lastFrameMs] = now
    if (first) {
      this.i32[I.state] = STATE_CODES.indexOf('streaming')
      if (firstFrameMs !== undefined) this.f64[F.decodeFirst] = firstFrameMs
    }
    if (summarize) this.writeSummary(now)
    this.block.endWrite()
  }

  decodeError(): void {
    const now = this.now()
    this.block.beginWrite()
    this.f64[F.decodeErrors]!++
    this.f64[F.lastFailureMs] = now
    this.block.endWrite()
  }

  slotsFull(): void {
    this.block.beginWrite()
    this.f64[F.slotsFull]!++
    this.block.endWrite()
  }

  /** The open or the running stream failed (errors are already redacted by the caller). */
  failure(error: { code: string; message: string }): void {
    const now = this.now()
    this.rate.clear()
    this.block.beginWrite()
    this.f64[F.failures]!++
    this.f64[F.lastFailureMs] = now
    this.i32[I.state] = STATE_CODES.indexOf('backoff')
    this.block.writeString('errorCode', error.code)
    this.block.writeString('errorMessage', error.message)
    this.writeSummary(now)
    this.block.endWrite()
  }

  /** Refresh rate and percentiles now (also called on a timer so a silent stream's rate decays). */
  summarize(): void {
    const now = this.now()
    this.lastSummaryMs = now
    this.block.beginWrite()
    this.writeSummary(now)
    this.block.endWrite()
  }

  private writeSummary(now: number): void {
    const [p50, p99] = this.decodeMs.percentiles(50, 99)
    const [l50, l99] = this.recvToPublishWindow.percentiles(50, 99)
    this.f64[F.framesPerS] = this.rate.rate(now)
    this.f64[F.decodeP50] = p50 ?? NaN
    this.f64[F.decodeP99] = p99 ?? NaN
    this.f64[F.recvToPublishP50] = l50 ?? NaN
    this.f64[F.recvToPublishP99] = l99 ?? NaN
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
  private readonly block: HealthBlock
  private readonly i32: Int32Array
  constructor(buffer: SharedArrayBuffer, private readonly now: () => number = monotonicMs) {
    this.block = SharedBlock.attach(healthLayout, buffer)
    this.i32 = this.block.i32
  }

  setAiLock(locked: boolean): void {
    Atomics.store(this.i32, I.aiLock, locked ? 1 : 0)
    // Nobody waits on this word today; notifying keeps a future blocking reader correct.
    Atomics.notify(this.i32, I.aiLock)
  }

  aiLocked(): boolean {
    return Atomics.load(this.i32, I.aiLock) !== 0
  }

  /** After the worker is gone (it may have been terminated before it could say so itself). */
  markStopped(): void {
    Atomics.store(this.i32, I.state, STATE_CODES.indexOf('stopped'))
  }

  snapshot(thresholds: HealthThresholds): CameraHealth {
    // A writer lapping every attempt (or one that died mid-write) still gets an answer, possibly torn.
    return this.block.snapshot(() => this.read(thresholds)) ?? this.read(thresholds)
  }

  private read(t: HealthThresholds): CameraHealth {
    const now = this.now()
    const f = this.block.f64
    const lastFrame = f[F.lastFrameMs]!
    const lastFailure = f[F.lastFailureMs]!
    const state = STATE_CODES[this.i32[I.state]!] ?? 'idle'
    const age = Number.isNaN(lastFrame) ? null : Math.max(0, now - lastFrame)
    const errorCode = this.block.readString('errorCode')
    const health: CameraHealth = {
      state,
      frames_per_s: round(f[F.framesPerS]!, 2) ?? 0,
      decode_ms_p50: round(f[F.decodeP50]!, 3),
      decode_ms_p99: round(f[F.decodeP99]!, 3),
      decode_ms_first_frame: round(f[F.decodeFirst]!, 3),
      last_frame_age_ms: age === null ? null : Math.round(age),
      reopens_total: f[F.reopens]!,
      decode_errors_total: f[F.decodeErrors]!,
      backend: this.block.readString('backend'),
      ai_locked: this.aiLocked(),
      status: 'green',
      source: this.block.readString('source'),
      codec: this.block.readString('codec'),
      width: this.i32[I.width]!,
      height: this.i32[I.height]!,
      frames_total: f[F.frames]!,
      failures_total: f[F.failures]!,
      slots_full_total: f[F.slotsFull]!,
      receive_to_publish_ms_p50: round(f[F.recvToPublishP50]!, 3),
      receive_to_publish_ms_p99: round(f[F.recvToPublishP99]!, 3),
      last_error: errorCode === '' ? null : `${errorCode}: ${this.block.readString('errorMessage')}`,
      last_error_code: errorCode === '' ? null : errorCode,
    }
    health.status = healthStatus({
      state,
      lastFrameAgeMs: age,
      sinceStartMs: now - f[F.startedMs]!,
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
