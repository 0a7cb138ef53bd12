import { CB_DELIVERED, CB_DROPPED, CB_JOIN_SEQ, CB_END_SEQ, CB_LAST_ENQUEUED, CB_MIN_INTERVAL, ConsumerFlags, FrameFlags, C_LEASES, C_DEPTH, C_FLAGS, C_READ, C_STATE, C_WAITING, C_WRITE, CONSUMER_I32_WORDS, CONSUMER_I64_WORDS, ConsumerState, DROP_REASON_COUNT, DropReason, H_EPOCH, H_NO_SLOT_DROPS, H_PRODUCER_ATTACHED, H_PUBLISH_TICK, HB_LAST_CAPTURE_TS, HB_LAST_PUBLISH_TS, HB_PUBLISHED, MAX_PLANES, PLANE_WORDS, S_BYTE_LENGTH, S_EPOCH, S_FLAGS, S_HEIGHT, S_HOLDERS, S_PIXFMT, S_PLANE_COUNT, S_PLANES, S_WIDTH, SB_CAPTURE_TS, SB_DECODE_TS, SB_PUBLISH_TS, SB_SEQ, SLOT_I32_WORDS, SLOT_I64_WORDS } from './layout.js'
import { frameTooLarge, invalidArgument } from './errors.js'
import { pixelFormatCode } from './pixel-format.js'
import type { RingViews } from './views.js'
import type { FrameMeta } from './types.js'

/** A slot the producer is filling; invisible to consumers until commit(). */
export interface WriteSlot {
  readonly index: number
  /** The slot's pixel bytes in the shared buffer: write the frame here (natively or in JS). */
  readonly bytes: Uint8Array
  /** The slot's float64 extras. */
  readonly aux: Float64Array
}

const monotonicNs = (): bigint => process.hrtime.bigint()

/**
 * The one writer of a ring. It never waits for consumers: it takes a free
 * slot (no consumer bit set), fills it, then hands it to every active
 * consumer's queue, dropping that consumer's oldest queued frame when the
 * queue is full. It also activates joining consumers and reclaims the slots of
 * consumers that left or died, because it is the only thread that enqueues:
 * doing both in one thread leaves no race between enqueue and reclaim.
 */
export class RingProducer {
  private readonly v: RingViews
  private readonly slotViews: Uint8Array[]
  private readonly auxViews: Float64Array[]
  private cursor = 0
  private writing = -1

  constructor(views: RingViews) {
    this.v = views
    this.slotViews = []
    this.auxViews = []
    for (let s = 0; s < views.geometry.slotCount; s++) {
      this.slotViews.push(views.slotBytes(s))
      this.auxViews.push(views.slotAux(s))
    }
    Atomics.add(views.header, H_PRODUCER_ATTACHED, 1)
  }

  /**
   * Takes a free slot to write the next frame into, or returns null (and
   * counts a `no_free_slot` drop) if every slot is held, which the sizing rule
   * makes impossible unless consumers exceed their lease limits.
   */
  beginWrite(): WriteSlot | null {
    if (this.writing >= 0) {
      throw invalidArgument('beginWrite() called twice without commit() or abort(); a producer fills one slot at a time')
    }
    const slots = this.v.slots
    const count = this.v.geometry.slotCount
    for (let n = 0; n < count; n++) {
      const s = (this.cursor + n) % count
      if (Atomics.load(slots, s * SLOT_I32_WORDS + S_HOLDERS) === 0) {
        this.cursor = (s + 1) % count
        this.writing = s
        return { index: s, bytes: this.slotViews[s]!, aux: this.auxViews[s]! }
      }
    }
    Atomics.add(this.v.header, H_NO_SLOT_DROPS, 1)
    return null
  }

  /** Gives a slot back unpublished (the decoder failed, the frame was corrupt, ...). */
  abort(slot: WriteSlot): void {
    if (slot.index !== this.writing) throw invalidArgument(`slot ${slot.index} is not the one being written`)
    this.writing = -1
  }

  /** Publishes the written slot to every active consumer and wakes them. Returns the frame's seq. */
  commit(slot: WriteSlot, meta: FrameMeta): bigint {
    const s = slot.index
    if (s !== this.writing) throw invalidArgument(`slot ${s} is not the one being written; call beginWrite() first`)
    const v = this.v
    const planes = meta.planes
    if (planes.length > MAX_PLANES) throw invalidArgument(`a frame has at most ${MAX_PLANES} planes, got ${planes.length}`)
    let byteLength = meta.byteLength ?? 0
    if (meta.byteLength === undefined) {
      for (const p of planes) byteLength = Math.max(byteLength, p.offset + p.stride * p.height)
    }
    if (byteLength > v.geometry.slotBytes) throw frameTooLarge(byteLength, v.geometry.slotBytes)

    const seq = Atomics.load(v.header64, HB_PUBLISHED)
    const now = monotonicNs()
    const base = s * SLOT_I32_WORDS
    const slots = v.slots
    slots[base + S_WIDTH] = meta.width
    slots[base + S_HEIGHT] = meta.height
    slots[base + S_PIXFMT] = pixelFormatCode(meta.pixFmt)
    slots[base + S_FLAGS] = meta.flags ?? 0
    slots[base + S_EPOCH] = Atomics.load(v.header, H_EPOCH)
    slots[base + S_PLANE_COUNT] = planes.length
    slots[base + S_BYTE_LENGTH] = byteLength
    for (let p = 0; p < planes.length; p++) {
      const pb = base + S_PLANES + p * PLANE_WORDS
      const plane = planes[p]!
      slots[pb] = plane.offset
      slots[pb + 1] = plane.stride
      slots[pb + 2] = plane.width
      slots[pb + 3] = plane.height
    }
    const b64 = s * SLOT_I64_WORDS
    v.slots64[b64 + SB_SEQ] = seq
    v.slots64[b64 + SB_CAPTURE_TS] = meta.captureTsNs
    v.slots64[b64 + SB_DECODE_TS] = meta.decodeTsNs
    v.slots64[b64 + SB_PUBLISH_TS] = now
    if (meta.aux) {
      const aux = this.auxViews[s]!
      const n = Math.min(aux.length, meta.aux.length)
      for (let i = 0; i < n; i++) aux[i] = meta.aux[i]!
    }
    this.writing = -1

    // Everything above is plain stores; the Atomics below order them before
    // any consumer can see the slot (a consumer only reads a slot it found in
    // its queue, and the queue write is an Atomics.store).
    const consumers = v.consumers
    const cap = v.geometry.queueCapacity
    for (let c = 0; c < v.geometry.maxConsumers; c++) {
      const cb = c * CONSUMER_I32_WORDS
      const state = Atomics.load(consumers, cb + C_STATE)
      if (state === ConsumerState.FREE) continue
      if (state === ConsumerState.JOINING) {
        if (!this.activate(c, seq)) continue
      } else if (state === ConsumerState.LEAVING || state === ConsumerState.DEAD) {
        this.reclaim(c, seq)
        continue
      } else if (state !== ConsumerState.ACTIVE) {
        continue
      }
      // Frames this consumer would skip anyway never take room in its queue.
      const c64 = c * CONSUMER_I64_WORDS
      const rules = consumers[cb + C_FLAGS]!
      if ((rules & ConsumerFlags.SKIP_AI_LOCKED) !== 0 && ((meta.flags ?? 0) & FrameFlags.AI_LOCKED) !== 0) {
        v.add64(c64 + CB_DROPPED + DropReason.AI_LOCKED, 1)
        continue
      }
      if ((rules & ConsumerFlags.RATE_CAPPED) !== 0) {
        const minInterval = v.consumers64[c64 + CB_MIN_INTERVAL]!
        const last = v.consumers64[c64 + CB_LAST_ENQUEUED]!
        // 10 % slack, so a 60 fps stream capped at 30 keeps every other frame despite jitter.
        if (last >= 0n && meta.captureTsNs - last < (minInterval * 9n) / 10n) {
          v.add64(c64 + CB_DROPPED + DropReason.RATE_LIMITED, 1)
          continue
        }
        v.consumers64[c64 + CB_LAST_ENQUEUED] = meta.captureTsNs
      }
      const bit = 1 << c
      const depth = consumers[cb + C_DEPTH]!
      const w = Atomics.load(consumers, cb + C_WRITE)
      // Make room: drop this consumer's oldest queued frames, for it alone.
      for (;;) {
        const r = Atomics.load(consumers, cb + C_READ)
        if (((w - r) | 0) < depth) break
        const victim = Atomics.load(v.queues, c * cap + (r % cap))
        if (Atomics.compareExchange(consumers, cb + C_READ, r, (r + 1) | 0) === r) {
          Atomics.and(slots, victim * SLOT_I32_WORDS + S_HOLDERS, ~bit)
          v.add64(c * CONSUMER_I64_WORDS + CB_DROPPED + DropReason.SLOW, 1)
        }
      }
      Atomics.or(slots, base + S_HOLDERS, bit)
      Atomics.store(v.queues, c * cap + (w % cap), s)
      Atomics.store(consumers, cb + C_WRITE, (w + 1) | 0)
      if (Atomics.load(consumers, cb + C_WAITING) !== 0) Atomics.notify(consumers, cb + C_WRITE)
    }
    Atomics.store(v.header64, HB_LAST_PUBLISH_TS, now)
    Atomics.store(v.header64, HB_LAST_CAPTURE_TS, meta.captureTsNs)
    Atomics.store(v.header64, HB_PUBLISHED, seq + 1n)
    Atomics.add(v.header, H_PUBLISH_TICK, 1)
    Atomics.notify(v.header, H_PUBLISH_TICK)
    return seq
  }

  /** Starts a new source epoch (after a reconnect or a renegotiated format). */
  bumpEpoch(): number {
    return Atomics.add(this.v.header, H_EPOCH, 1) + 1
  }

  /**
   * Activates joining consumers and reclaims departed ones without publishing.
   * A producer that is idle (camera down) calls this now and then so that a
   * consumer that died meanwhile does not keep its slots.
   */
  service(): void {
    const published = Atomics.load(this.v.header64, HB_PUBLISHED)
    for (let c = 0; c < this.v.geometry.maxConsumers; c++) {
      const state = Atomics.load(this.v.consumers, c * CONSUMER_I32_WORDS + C_STATE)
      if (state === ConsumerState.JOINING) this.activate(c, published)
      else if (state === ConsumerState.LEAVING || state === ConsumerState.DEAD) this.reclaim(c, published)
    }
  }

  /** The consumer starts at the frame being published now: the newest one. */
  private activate(c: number, seq: bigint): boolean {
    const v = this.v
    const b64 = c * CONSUMER_I64_WORDS
    Atomics.store(v.consumers64, b64 + CB_JOIN_SEQ, seq)
    Atomics.store(v.consumers64, b64 + CB_DELIVERED, 0n)
    Atomics.store(v.consumers64, b64 + CB_LAST_ENQUEUED, -1n)
    for (let r = 0; r < DROP_REASON_COUNT; r++) Atomics.store(v.consumers64, b64 + CB_DROPPED + r, 0n)
    // A consumer that left in the meantime stays LEAVING and is reclaimed.
    const cb = c * CONSUMER_I32_WORDS + C_STATE
    return Atomics.compareExchange(v.consumers, cb, ConsumerState.JOINING, ConsumerState.ACTIVE) === ConsumerState.JOINING
  }

  /**
   * Clears the consumer's bit from every slot. Bits make this idempotent: a
   * lease released twice or a queue entry half-taken when the thread died
   * cannot make a slot look free while another consumer still holds it.
   */
  private reclaim(c: number, published: bigint): void {
    const v = this.v
    const cb = c * CONSUMER_I32_WORDS
    const keep = ~(1 << c)
    for (let s = 0; s < v.geometry.slotCount; s++) Atomics.and(v.slots, s * SLOT_I32_WORDS + S_HOLDERS, keep)
    const r = Atomics.load(v.consumers, cb + C_READ)
    const w = Atomics.load(v.consumers, cb + C_WRITE)
    const queued = (w - r) | 0
    // Frames still queued were published to it but never delivered: count
    // them so its final books balance.
    if (queued > 0) v.add64(c * CONSUMER_I64_WORDS + CB_DROPPED + DropReason.RECLAIMED, queued)
    Atomics.store(v.consumers64, c * CONSUMER_I64_WORDS + CB_END_SEQ, published)
    Atomics.store(v.consumers, cb + C_READ, w)
    Atomics.store(v.consumers, cb + C_LEASES, 0)
    Atomics.store(v.consumers, cb + C_STATE, ConsumerState.RETIRED)
  }
}
