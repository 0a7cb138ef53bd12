// The names under which SharedArrayBuffers travel in a worker's `shared`
// record. Main thread and worker must agree on them; one list keeps a typo
// from becoming a worker that waits forever for a buffer it never gets.

export const SharedKey = Object.freeze({
  /** The frame ring (capture) or the thermal ring (thermal) a worker reads or writes. */
  ring: 'ring',
  /** A worker's health block (capture, thermal). */
  health: 'health',
  /** The metrics registry buffer. */
  metrics: 'metrics',
  /** The trace table (frame trace contexts by ring slot). */
  traces: 'traces',
  /** The consume log (which consumer took which frame, for tracing). */
  consumes: 'consumes',
  /** The encoder's JPEG share. */
  jpegs: 'jpegs',
} as const)

export type SharedKeyName = (typeof SharedKey)[keyof typeof SharedKey]
