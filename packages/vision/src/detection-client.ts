// Sends frames to an object detection service at a bounded rate with a
// bounded number of requests in flight. When the service is slow the client
// skips frames (detection_client_slow) instead of queueing them: a queue
// would only deliver ever older answers while holding frames in memory.

import { FrameFlags } from '@heart/ring'
import { VisionError, invalidOption } from './errors.js'
import type { DetectionProtocol } from './protocol.js'
import type { Detection, FrameView } from './types.js'

export interface DetectionClientOptions {
  protocol: DetectionProtocol
  /** Per request: connecting, sending and reading the whole answer. Default 2000 ms. */
  deadlineMs?: number
  /** Requests in flight at once; a frame arriving when all are busy is skipped. Default 1. */
  maxInFlight?: number
  /** Frames per second sent at most (by capture time); 0 = no cap. Default 5. */
  fps?: number
  /** Skip frames flagged AI-locked (the camera is held by a supervisor). Default true. */
  skipAiLocked?: boolean
  onResult?: (result: DetectionResult) => void
  onError?: (error: VisionError, seq: bigint) => void
}

/** A frame as the client needs it; a ring FrameLease fits. */
export interface DetectionFrame extends FrameView {
  seq: bigint
  captureTsNs: bigint
  flags: number
}

export interface DetectionResult {
  seq: bigint
  captureTsNs: bigint
  /** From the start of preparation to the parsed answer. */
  latencyMs: number
  detections: Detection[]
}

export type SkipReason = 'ai_locked' | 'rate_limited' | 'detection_client_slow'
export type SubmitOutcome = 'sent' | SkipReason

export interface DetectionClientStats {
  sent: number
  succeeded: number
  failed: Record<string, number>
  skipped: Record<SkipReason, number>
  inFlight: number
  lastLatencyMs: number
}

export class DetectionClient {
  private readonly protocol: DetectionProtocol
  private readonly deadlineMs: number
  private readonly maxInFlight: number
  private readonly intervalNs: bigint
  private readonly skipAiLocked: boolean
  private readonly onResult: (r: DetectionResult) => void
  private readonly onError: (e: VisionError, seq: bigint) => void
  private readonly stopper = new AbortController()
  private readonly pending = new Set<Promise<void>>()
  private nextDueNs = -1n
  private readonly counters: DetectionClientStats = {
    sent: 0,
    succeeded: 0,
    failed: {},
    skipped: { ai_locked: 0, rate_limited: 0, detection_client_slow: 0 },
    inFlight: 0,
    lastLatencyMs: 0,
  }

  constructor(o: DetectionClientOptions) {
    const deadline = o.deadlineMs ?? 2000
    const inFlight = o.maxInFlight ?? 1
    const fps = o.fps ?? 5
    if (!(Number.isFinite(deadline) && deadline > 0)) throw invalidOption('deadlineMs', deadline, 'a positive number of milliseconds')
    if (!(Number.isInteger(inFlight) && inFlight >= 1 && inFlight <= 64)) throw invalidOption('maxInFlight', inFlight, 'an integer from 1 to 64')
    if (!(Number.isFinite(fps) && fps >= 0)) throw invalidOption('fps', fps, 'a number of frames per second (0 = no cap)')
    this.protocol = o.protocol
    this.deadlineMs = deadline
    this.maxInFlight = inFlight
    this.intervalNs = fps > 0 ? BigInt(Math.round(1e9 / fps)) : 0n
    this.skipAiLocked = o.skipAiLocked ?? true
    this.onResult = o.onResult ?? (() => {})
    this.onError = o.onError ?? (() => {})
  }

  /**
   * Offers a frame. Resolves once the frame's pixels are no longer needed
   * (the request is prepared, or the frame was skipped), so the caller can
   * release its lease; the answer arrives later through onResult / onError.
   */
  async submit(frame: DetectionFrame): Promise<SubmitOutcome> {
    const c = this.counters
    if (this.skipAiLocked && (frame.flags & FrameFlags.AI_LOCKED) !== 0) return this.skip('ai_locked')
    if (c.inFlight >= this.maxInFlight || this.stopper.signal.aborted) return this.skip('detection_client_slow')
    if (this.intervalNs > 0n) {
      const ts = frame.captureTsNs
      if (ts < this.nextDueNs) return this.skip('rate_limited')
      // Keep the long-run rate exact, but do not burst to catch up after a gap.
      this.nextDueNs = ts - this.nextDueNs > this.intervalNs ? ts + this.intervalNs : this.nextDueNs + this.intervalNs
    }
    c.inFlight++
    c.sent++
    const t0 = performance.now()
    let prepared
    try {
      prepared = await this.protocol.prepare(frame)
    } catch (error) {
      c.inFlight--
      this.fail(asVisionError(error), frame.seq)
      return 'sent'
    }
    const seq = frame.seq
    const captureTsNs = frame.captureTsNs
    const p = this.protocol
      .send(prepared, this.deadlineMs, this.stopper.signal)
      .then(
        (detections) => {
          c.succeeded++
          c.lastLatencyMs = Math.round((performance.now() - t0) * 10) / 10
          this.onResult({ seq, captureTsNs, latencyMs: c.lastLatencyMs, detections })
        },
        (error: unknown) => this.fail(asVisionError(error), seq),
      )
      .finally(() => {
        c.inFlight--
        this.protocol.recycle?.(prepared)
        this.pending.delete(p)
      })
    this.pending.add(p)
    return 'sent'
  }

  stats(): DetectionClientStats {
    const c = this.counters
    return { ...c, failed: { ...c.failed }, skipped: { ...c.skipped } }
  }

  /** Aborts requests in flight and waits for them to settle. */
  async close(): Promise<void> {
    this.stopper.abort()
    await Promise.allSettled([...this.pending])
  }

  private skip(reason: SkipReason): SkipReason {
    this.counters.skipped[reason]++
    return reason
  }

  private fail(error: VisionError, seq: bigint): void {
    const f = this.counters.failed
    f[error.code] = (f[error.code] ?? 0) + 1
    if (error.code !== 'DETECTION_ABORTED') this.onError(error, seq)
  }
}

function asVisionError(error: unknown): VisionError {
  if (error instanceof VisionError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new VisionError('DETECTION_INTERNAL', `detection request failed unexpectedly: ${message}`, { cause: error })
}
