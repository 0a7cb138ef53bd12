import { MAX_PLANES, PLANE_WORDS, S_BYTE_LENGTH, S_EPOCH, S_FLAGS, S_HEIGHT, S_PIXFMT, S_PLANE_COUNT, S_PLANES, S_WIDTH, SB_CAPTURE_TS, SB_DECODE_TS, SB_PUBLISH_TS, SB_SEQ, SLOT_I32_WORDS, SLOT_I64_WORDS } from './layout.js'
import { pixelFormatName, type PixelFormatName, type PlaneLayout } from './pixel-format.js'
import type { RingViews } from './views.js'
import type { FrameLease } from './types.js'

/**
 * A held frame. Every field reads the slot's metadata on access instead of
 * copying it at acquire time: acquiring allocates this one object and
 * nothing else, which keeps the hot path at a few hundred nanoseconds. The
 * fields (like the pixels) are only valid until release().
 */
export class SlotLease implements FrameLease {
  readonly slot: number
  readonly bytes: Uint8Array
  readonly aux: Float64Array
  private readonly v: RingViews
  private readonly i32: number
  private readonly i64: number
  private planesCache: PlaneLayout[] | undefined

  constructor(views: RingViews, slot: number, bytes: Uint8Array, aux: Float64Array) {
    this.v = views
    this.slot = slot
    this.bytes = bytes
    this.aux = aux
    this.i32 = slot * SLOT_I32_WORDS
    this.i64 = slot * SLOT_I64_WORDS
  }

  get seq(): bigint {
    return this.v.slots64[this.i64 + SB_SEQ]!
  }
  get captureTsNs(): bigint {
    return this.v.slots64[this.i64 + SB_CAPTURE_TS]!
  }
  get decodeTsNs(): bigint {
    return this.v.slots64[this.i64 + SB_DECODE_TS]!
  }
  get publishTsNs(): bigint {
    return this.v.slots64[this.i64 + SB_PUBLISH_TS]!
  }
  get epoch(): number {
    return this.v.slots[this.i32 + S_EPOCH]!
  }
  get width(): number {
    return this.v.slots[this.i32 + S_WIDTH]!
  }
  get height(): number {
    return this.v.slots[this.i32 + S_HEIGHT]!
  }
  get pixFmt(): PixelFormatName {
    return pixelFormatName(this.v.slots[this.i32 + S_PIXFMT]!)
  }
  get flags(): number {
    return this.v.slots[this.i32 + S_FLAGS]!
  }
  get byteLength(): number {
    return this.v.slots[this.i32 + S_BYTE_LENGTH]!
  }
  get planes(): PlaneLayout[] {
    if (this.planesCache) return this.planesCache
    const slots = this.v.slots
    const count = Math.min(slots[this.i32 + S_PLANE_COUNT]!, MAX_PLANES)
    const planes: PlaneLayout[] = []
    for (let p = 0; p < count; p++) {
      const b = this.i32 + S_PLANES + p * PLANE_WORDS
      planes.push({ offset: slots[b]!, stride: slots[b + 1]!, width: slots[b + 2]!, height: slots[b + 3]! })
    }
    this.planesCache = planes
    return planes
  }

  /** A plain copy of the metadata (for logging or keeping after release). */
  toJSON(): Omit<FrameLease, 'bytes' | 'aux' | 'toJSON'> {
    return {
      slot: this.slot,
      seq: this.seq,
      epoch: this.epoch,
      captureTsNs: this.captureTsNs,
      decodeTsNs: this.decodeTsNs,
      publishTsNs: this.publishTsNs,
      width: this.width,
      height: this.height,
      pixFmt: this.pixFmt,
      flags: this.flags,
      byteLength: this.byteLength,
      planes: this.planes,
    }
  }
}
