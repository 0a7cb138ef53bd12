// Why a frame did not reach a consumer. The ring is the source of truth (it
// counts them); health, metrics and the status line only name them.

/**
 * Reason names in the ring's counter order. `slow` is reported per consumer
 * as `<consumer>_slow` in health; metrics carry it as `slow` with a
 * `consumer` attribute.
 */
export const DROP_REASON_NAMES = Object.freeze(['slow', 'rate_limited', 'ai_locked', 'reclaimed', 'stale'] as const)
export type DropReasonName = (typeof DROP_REASON_NAMES)[number]

/** Intended skips: counted apart from drops, never called drops in the status line or the live view. */
export const SKIP_REASON_NAMES = Object.freeze(['rate_limited', 'ai_locked'] as const)
export type SkipReasonName = (typeof SKIP_REASON_NAMES)[number]

/** Lost frames: the ring's reasons that are not intended skips (what `heart.frames.dropped` counts per consumer). */
export const LOSS_REASON_NAMES = Object.freeze(
  DROP_REASON_NAMES.filter((r): r is Exclude<DropReasonName, SkipReasonName> => !(SKIP_REASON_NAMES as readonly string[]).includes(r)),
)
export type LossReasonName = (typeof LOSS_REASON_NAMES)[number]

/** A frame the producer could not publish at all (every slot held): counted for the pseudo-consumer `producer`. */
export const NO_SLOT_REASON = 'no_slot'

/**
 * The reasons the `heart.frames.dropped` metric carries: the lost ones, plus
 * `no_slot` for the producer. Skips are `heart.frames.skipped`, so a drop
 * alert never fires on a consumer's own fpsCap.
 */
export const FRAME_DROP_METRIC_REASONS = Object.freeze([...LOSS_REASON_NAMES, NO_SLOT_REASON])
export type FrameDropMetricReason = (typeof FRAME_DROP_METRIC_REASONS)[number]

/** Why a thermal frame was lost; `overwritten`: the sensor wrote the next subpage over one we were still reading. */
export const THERMAL_LOSS_REASONS = Object.freeze(['bus_error', 'timeout', 'not_ready', 'late', 'invalid_frame', 'overwritten'] as const)
export type ThermalLossReason = (typeof THERMAL_LOSS_REASONS)[number]

/**
 * Why a supervised worker's life ended against its will: in health
 * (`workers.NAME.last_exit`), the `worker.crashed` event and the logs.
 * `stalled`: the watchdog terminated a consumer that had frames queued and
 * finished none for its stallMs; `out_of_memory`: the worker exceeded its
 * resourceLimits; `error`: it threw; `exit`: it exited without being asked.
 */
export const WORKER_EXIT_REASONS = Object.freeze(['error', 'exit', 'stalled', 'out_of_memory'] as const)
export type WorkerExitReason = (typeof WORKER_EXIT_REASONS)[number]

/**
 * Problems the `verify` consumer kind names in its `verify.report` events and
 * logs. `frame_written_while_leased`: a frame's pixels changed while it held
 * the frame, so some consumer writes into frames (leases are read-only).
 */
export const VERIFY_PROBLEMS = Object.freeze(['frame_written_while_leased'] as const)
export type VerifyProblem = (typeof VERIFY_PROBLEMS)[number]
