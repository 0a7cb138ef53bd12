import type { PixelFormatName, PlaneLayout } from './pixel-format.js'

/** What a consumer learns about a frame, besides its pixels. */
export interface FrameInfo {
  /** Publish order, from 0; never reused within a ring's life. */
  seq: bigint
  /** Source epoch: bumped on every reconnect or renegotiation. */
  epoch: number
  /** CLOCK_MONOTONIC ns at the earliest point (packet receipt). */
  captureTsNs: bigint
  /** CLOCK_MONOTONIC ns when the decoder produced the frame. */
  decodeTsNs: bigint
  /** CLOCK_MONOTONIC ns when the producer published it. */
  publishTsNs: bigint
  width: number
  height: number
  pixFmt: PixelFormatName
  /** FrameFlags bits: AI_LOCKED, KEYFRAME, CORRUPT. */
  flags: number
  /** Bytes of the slot the frame occupies. */
  byteLength: number
  planes: PlaneLayout[]
}

/** What the producer says about a frame it publishes. */
export interface FrameMeta {
  captureTsNs: bigint
  decodeTsNs: bigint
  width: number
  height: number
  pixFmt: PixelFormatName
  planes: readonly PlaneLayout[]
  /** Slot bytes in use; defaults to the end of the last plane. */
  byteLength?: number
  flags?: number
  /** Extra float64 values (up to the ring's auxWords), e.g. a thermal frame's Ta/min/max. */
  aux?: ArrayLike<number>
}

/**
 * A frame held by a consumer: pixels and metadata are read in place and are
 * only valid until release(). Copy what you keep (toJSON() copies the metadata).
 */
export interface FrameLease extends FrameInfo {
  toJSON(): Omit<FrameLease, 'bytes' | 'aux' | 'toJSON'>
  /** The slot index (for diagnostics). */
  readonly slot: number
  /** The slot's pixel bytes, a view into the shared buffer (no copy). */
  readonly bytes: Uint8Array
  /** The slot's aux values. */
  readonly aux: Float64Array
}

export interface ConsumerOptions {
  /** Frames queued for this consumer before the oldest is dropped (reason `<name>_slow`). */
  depth?: number
  /** Frames this consumer may hold at once. */
  maxLeases?: number
  /** Deliver at most this many frames a second (by capture time); the rest count as `rate_limited`. */
  fpsCap?: number
  /** Skip frames flagged AI-locked (counted as `ai_locked`). */
  skipAiLocked?: boolean
  /** Skip frames older than this (capture to acquire) as `stale`. */
  maxAgeMs?: number
}

export interface ConsumerStats {
  index: number
  name: string
  state: 'free' | 'joining' | 'active' | 'leaving' | 'dead' | 'retired' | 'claiming'
  threadId: number
  generation: number
  /** Published frames since this consumer was activated. */
  published: bigint
  delivered: bigint
  /** By reason name; the `slow` reason is reported as `<name>_slow`. */
  dropped: Record<string, bigint>
  /** Frames queued and not yet taken. */
  lag: number
  leases: number
  depth: number
}

export interface RingStats {
  published: bigint
  epoch: number
  slotCount: number
  slotBytes: number
  /** Slots held by some consumer right now. */
  slotsInUse: number
  /** Frames the producer could not publish because no slot was free (0 when sized by the rule). */
  noSlotDrops: number
  lastPublishTsNs: bigint
  lastCaptureTsNs: bigint
  consumers: ConsumerStats[]
}
