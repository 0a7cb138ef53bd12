// Shared-memory layout between the soak harness and its bench consumer.

/** Int32 index of the stall flag in the soak's control buffer (0: run, 1: stalled). */
export const STALL_FLAG_INDEX = 0
/** Bytes of the soak's control buffer. */
export const SOAK_CONTROL_BYTES = 4
