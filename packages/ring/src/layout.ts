// Every offset into a ring's SharedArrayBuffer lives in this file, so that a
// producer in one thread and consumers in others agree on the layout by
// construction. Bump RING_VERSION whenever anything here changes: attach()
// refuses a buffer whose magic or version differ.

import { DROP_REASON_NAMES } from '@heart/contracts'

export const RING_MAGIC = 0x48525447 // "HRTG"
export const RING_VERSION = 2

/** The most consumers one ring serves: a slot's holders are one bit each in an Int32. */
export const MAX_CONSUMERS_LIMIT = 32
/** Planes a frame can carry (yuv420p has 3; one spare). */
export const MAX_PLANES = 4
/** Bytes reserved for a consumer's name in the registry. */
export const NAME_BYTES = 32
/** Pixel data of every slot starts on this boundary (SIMD loads, cache lines). */
export const SLOT_ALIGN = 64

// Header, Int32 words.
export const H_MAGIC = 0
export const H_VERSION = 1
export const H_SLOT_COUNT = 2
export const H_SLOT_BYTES = 3
export const H_MAX_CONSUMERS = 4
export const H_QUEUE_CAPACITY = 5
export const H_AUX_WORDS = 6
export const H_EPOCH = 7
export const H_PRODUCER_ATTACHED = 8
export const H_NO_SLOT_DROPS = 9
/** Incremented on every publish; the main thread and tests can Atomics.wait on it. */
export const H_PUBLISH_TICK = 10
export const H_DEFAULT_DEPTH = 11
export const H_MAX_LEASES = 12
export const H_GENERATION = 13
export const HEADER_I32_WORDS = 32

// Header, BigInt64 words (placed right after the Int32 header).
export const HB_PUBLISHED = 0
export const HB_LAST_PUBLISH_TS = 1
export const HB_LAST_CAPTURE_TS = 2
export const HEADER_I64_WORDS = 4

// Consumer registry entry, Int32 words.
export const C_STATE = 0
/** Next queue position the consumer will take; producer and consumer both CAS it. */
export const C_READ = 1
/** Next queue position the producer will fill; written by the producer only. */
export const C_WRITE = 2
export const C_DEPTH = 3
export const C_THREAD_ID = 4
/** Set while the consumer sleeps in Atomics.wait, so the producer notifies only then. */
export const C_WAITING = 5
export const C_GENERATION = 6
export const C_LEASES = 7
export const C_NAME_LENGTH = 8
export const C_NAME = 9 // NAME_BYTES / 4 words
/** ConsumerFlags the producer honours when it publishes. */
export const C_FLAGS = 17
/** Leases this consumer may hold (part of its slot budget). */
export const C_MAX_LEASES = 18
export const CONSUMER_I32_WORDS = 24

/** Per-consumer rules the producer applies at publish time, so skipped frames never take queue room. */
export const ConsumerFlags = {
  SKIP_AI_LOCKED: 1,
  /** CB_MIN_INTERVAL is set (a flag, so uncapped consumers cost no BigInt read at publish). */
  RATE_CAPPED: 2,
} as const

export const ConsumerState = {
  FREE: 0,
  /** Claimed by a consumer; the producer activates it at its next publish. */
  JOINING: 1,
  ACTIVE: 2,
  /** Left on purpose; the producer reclaims its slots at its next publish. */
  LEAVING: 3,
  /** Its thread died; the producer reclaims its slots at its next publish. */
  DEAD: 4,
  /**
   * Reclaimed; its final books stay readable until the ring's owner collects
   * them (collectRetired) and frees the place. A join takes a retired place
   * only when no free one is left.
   */
  RETIRED: 5,
  /** A joining consumer is filling the entry in; the producer leaves it alone. */
  CLAIMING: 6,
} as const
export type ConsumerStateCode = (typeof ConsumerState)[keyof typeof ConsumerState]
export const CONSUMER_STATE_NAMES = ['free', 'joining', 'active', 'leaving', 'dead', 'retired', 'claiming'] as const

// Consumer counters, BigInt64 words.
export const CB_JOIN_SEQ = 0
export const CB_DELIVERED = 1
/** Published count when the consumer was reclaimed: its books end there. */
export const CB_END_SEQ = 2
export const CB_DROPPED = 3 // + DropReason
/** Minimum capture-time interval between frames the consumer gets (0: no cap). */
export const CB_MIN_INTERVAL = 8
/** Capture time of the last frame enqueued for it (-1: none yet). */
export const CB_LAST_ENQUEUED = 9
export const CONSUMER_I64_WORDS = 12

/** Why a consumer did not get a frame that was published while it was joined. */
export const DropReason = {
  /** The consumer fell more than its queue depth behind: the producer dropped its oldest queued frame. */
  SLOW: 0,
  /** Skipped to honour the consumer's frame-rate cap. */
  RATE_LIMITED: 1,
  /** Skipped because the frame was flagged AI-locked and the consumer skips those. */
  AI_LOCKED: 2,
  /** Still queued when the consumer died or left; reclaimed by the producer. */
  RECLAIMED: 3,
  /** Older than the consumer's maximum frame age when it got to it. */
  STALE: 4,
} as const
export type DropReasonCode = (typeof DropReason)[keyof typeof DropReason]
/** Reason names as they appear in health and metrics (in DropReason order); SLOW becomes `<consumer>_slow`. */
export { DROP_REASON_NAMES }
export const DROP_REASON_COUNT = DROP_REASON_NAMES.length

// Slot metadata, Int32 words.
/** Bit i set: consumer i holds this slot (queued or leased). 0 means free for the producer. */
export const S_HOLDERS = 0
export const S_WIDTH = 1
export const S_HEIGHT = 2
export const S_PIXFMT = 3
export const S_FLAGS = 4
export const S_EPOCH = 5
export const S_PLANE_COUNT = 6
export const S_BYTE_LENGTH = 7
export const S_PLANES = 8 // MAX_PLANES x (offset, stride, width, height)
export const PLANE_WORDS = 4
export const SLOT_I32_WORDS = 24

// Slot metadata, BigInt64 words.
export const SB_SEQ = 0
export const SB_CAPTURE_TS = 1
export const SB_DECODE_TS = 2
export const SB_PUBLISH_TS = 3
export const SLOT_I64_WORDS = 4

/** Frame flags stored in S_FLAGS. */
export const FrameFlags = {
  AI_LOCKED: 1,
  KEYFRAME: 2,
  CORRUPT: 4,
} as const

export interface RingGeometry {
  slotCount: number
  slotBytes: number
  maxConsumers: number
  queueCapacity: number
  auxWords: number
}

export interface RingOffsets {
  /** Byte offsets of each region. */
  headerI32: number
  headerI64: number
  consumersI32: number
  consumersI64: number
  queues: number
  slotsI32: number
  slotsI64: number
  slotsAux: number
  pixels: number
  totalBytes: number
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to
}

/** Where each region starts for a given geometry; the same numbers in every thread. */
export function computeOffsets(g: RingGeometry): RingOffsets {
  const headerI32 = 0
  const headerI64 = align(headerI32 + HEADER_I32_WORDS * 4, 8)
  const consumersI32 = align(headerI64 + HEADER_I64_WORDS * 8, 8)
  const consumersI64 = align(consumersI32 + g.maxConsumers * CONSUMER_I32_WORDS * 4, 8)
  const queues = align(consumersI64 + g.maxConsumers * CONSUMER_I64_WORDS * 8, 8)
  const slotsI32 = align(queues + g.maxConsumers * g.queueCapacity * 4, 8)
  const slotsI64 = align(slotsI32 + g.slotCount * SLOT_I32_WORDS * 4, 8)
  const slotsAux = align(slotsI64 + g.slotCount * SLOT_I64_WORDS * 8, 8)
  const pixels = align(slotsAux + g.slotCount * g.auxWords * 8, SLOT_ALIGN)
  const totalBytes = pixels + g.slotCount * g.slotBytes
  return { headerI32, headerI64, consumersI32, consumersI64, queues, slotsI32, slotsI64, slotsAux, pixels, totalBytes }
}

/**
 * The iceoryx sizing rule: every consumer may hold `depth` queued frames plus
 * `leases` acquired ones, the producer writes one more, and one spare keeps
 * the free-slot search from ever coming up empty. With this many slots the
 * producer never waits and never finds the pool exhausted.
 */
export function requiredSlotCount(maxConsumers: number, depth: number, leases: number): number {
  return maxConsumers * (depth + leases) + SLOT_RESERVE
}

/** Slots outside every consumer's budget: the one being written and a spare. */
export const SLOT_RESERVE = 2
