import type { WorkerExitReason } from './reasons.js'
// The events heart itself puts on the main thread's queue, and their payloads.
// Applications may emit their own types too; these are the ones heart's
// packages emit and subscribe to, so both ends type-check against one shape.

/**
 * A health state changed. One shape for every component: the kernel
 * announces heart's overall status (`component: 'heart'`, to: green | yellow
 * | red, with the reasons), a capture worker its camera's state
 * (`component: 'camera'`, to: streaming | backoff, with the failure code and
 * the retry delay).
 */
export interface HealthChangePayload {
  component: 'heart' | 'camera' | 'thermal'
  /** The state before, when the emitter knows it. */
  from?: string
  /** The new state. */
  to: string
  /** Why it is not green (kernel). */
  reasons?: string[]
  /** The error code behind a failure state. */
  code?: string
  /** When the next attempt is due (backoff states). */
  retryInMs?: number
}

/** A supervised worker crashed and will be restarted. */
export interface WorkerCrashedPayload {
  service: string
  /** Why, as a code: WORKER_EXIT_REASONS (stalled, out_of_memory, error, exit). */
  code: WorkerExitReason
  reason: string
  exitCode: number | null
  restartInMs: number
}

/** The event types heart's own packages emit, with their payloads. */
export interface HeartEventMap {
  'health.change': HealthChangePayload
  'worker.crashed': WorkerCrashedPayload
}

export type HeartEventType = keyof HeartEventMap
