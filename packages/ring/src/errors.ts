import { CodedError, type RingErrorCode } from '@heart/contracts'

/** Errors raised by the ring carry a stable `code` callers can branch on. */
export class RingError extends CodedError<RingErrorCode> {}

export function invalidArgument(message: string): RingError {
  return new RingError('RING_INVALID_ARGUMENT', message)
}

export function layoutMismatch(message: string): RingError {
  return new RingError('RING_LAYOUT_MISMATCH', message)
}

export function noConsumerSlot(max: number): RingError {
  return new RingError(
    'RING_FULL_OF_CONSUMERS',
    `all ${max} consumer places of this ring are taken; create the ring with a larger maxConsumers or let a consumer leave first`,
  )
}

export function leaseLimit(name: string, max: number): RingError {
  return new RingError(
    'RING_LEASE_LIMIT',
    `consumer "${name}" already holds ${max} frame leases; release one before acquiring another (or join with a larger maxLeases)`,
  )
}

export function foreignLease(name: string): RingError {
  return new RingError('RING_FOREIGN_LEASE', `consumer "${name}" was asked to release a lease it does not hold (released twice, or taken by another consumer)`)
}

export function consumerClosed(name: string): RingError {
  return new RingError('RING_CONSUMER_CLOSED', `consumer "${name}" has left the ring or was declared dead; join again to receive frames`)
}

export function frameTooLarge(byteLength: number, slotBytes: number): RingError {
  return new RingError(
    'RING_FRAME_TOO_LARGE',
    `a frame of ${byteLength} bytes does not fit a ${slotBytes}-byte slot; renegotiate a smaller output or create the ring for the larger format`,
  )
}

export function slotBudgetExceeded(name: string, depth: number, leases: number, committed: number, budget: number): RingError {
  return new RingError(
    'RING_SLOTS_EXHAUSTED',
    `consumer "${name}" needs ${depth + leases} slots (depth ${depth} + ${leases} lease(s)) but only ${budget - committed} of the ring's ${budget} consumer slots are left; join with a smaller depth or create the ring with more slots`,
  )
}
