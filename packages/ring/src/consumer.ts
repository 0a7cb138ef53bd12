import { CB_DELIVERED, CB_DROPPED, CB_LAST_ENQUEUED, CB_MIN_INTERVAL, ConsumerFlags, C_DEPTH, C_FLAGS, C_GENERATION, C_MAX_LEASES, C_LEASES, C_NAME, C_NAME_LENGTH, C_READ, C_STATE, C_THREAD_ID, C_WAITING, C_WRITE, CONSUMER_I32_WORDS, CONSUMER_I64_WORDS, ConsumerState, DropReason, type DropReasonCode, H_DEFAULT_DEPTH, H_MAX_LEASES, NAME_BYTES, S_HOLDERS, SLOT_RESERVE, SB_CAPTURE_TS, SLOT_I32_WORDS, SLOT_I64_WORDS } from './layout.js'
import { consumerClosed, foreignLease, invalidArgument, leaseLimit, noConsumerSlot, slotBudgetExceeded } from './errors.js'
import type { RingViews } from './views.js'
import type { ConsumerOptions, FrameLease } from './types.js'
import { SlotLease } from './lease.js'
import { threadId } from 'node:worker_threads'
import { waitOnWord } from './wait.js'

const textEncoder = new TextEncoder()
const NAME_PATTERN = /^[a-z][a-z0-9_]*$/

/**
 * Names become metric and health keys (`<name>_slow`), so every reader of a
 * ring, frame or packet, follows one rule. `what` names the kind of reader.
 */
export function checkConsumerName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name) || textEncoder.encode(name).length > NAME_BYTES) {
    throw invalidArgument(`${what} name "${String(name)}" must be lower-case letters, digits and underscores, starting with a letter, at most ${NAME_BYTES} bytes`)
  }
}

/**
 * One reader of a ring. It takes frames from its own queue in publish order,
 * reads their pixels in place, and releases them. It can never see a slot the
 * producer is writing: the producer only writes slots with no consumer bit
 * set, and this consumer's bit stays set from enqueue until release.
 */
/** waitTurn's answer when the caller should sleep until a publish or the deadline. */
const SLEEP = Symbol('sleep')

export class RingConsumer {
  readonly name: string
  readonly index: number
  private readonly v: RingViews
  private readonly base: number
  private readonly bit: number
  private readonly queueBase: number
  private readonly cap: number
  private readonly maxLeases: number
  private readonly maxAgeNs: bigint
  private readonly held: FrameLease[] = []
  /** Set by waitTurn: the write index to sleep on (null: do not sleep) and for how long. */
  private sleepOn: number | null = null
  private sleepMs = 0
  private readonly slotViews: Array<Uint8Array | undefined> = []
  private readonly auxViews: Array<Float64Array | undefined> = []
  /** A maximum age is set; without one, acquire reads no metadata at all. */
  private readonly filtering: boolean
  private closed = false
  private generation = 0

  private constructor(views: RingViews, index: number, name: string, options: ConsumerOptions) {
    this.v = views
    this.index = index
    this.name = name
    this.base = index * CONSUMER_I32_WORDS
    this.bit = 1 << index
    this.cap = views.geometry.queueCapacity
    this.queueBase = index * this.cap
    this.maxLeases = options.maxLeases ?? views.header[H_MAX_LEASES]!
    this.maxAgeNs = options.maxAgeMs ? BigInt(Math.round(options.maxAgeMs * 1e6)) : 0n
    this.filtering = this.maxAgeNs > 0n
  }

  static join(views: RingViews, name: string, options: ConsumerOptions): RingConsumer {
    checkConsumerName(name, 'consumer')
    const depth = options.depth ?? views.header[H_DEFAULT_DEPTH]!
    if (!Number.isInteger(depth) || depth < 1 || depth > views.geometry.queueCapacity) {
      throw invalidArgument(`consumer "${name}": depth must be an integer from 1 to ${views.geometry.queueCapacity} (the ring's maxDepth), got ${String(depth)}`)
    }
    const ringMaxLeases = views.header[H_MAX_LEASES]!
    const maxLeases = options.maxLeases ?? ringMaxLeases
    if (!Number.isInteger(maxLeases) || maxLeases < 1 || maxLeases > ringMaxLeases) {
      throw invalidArgument(`consumer "${name}": maxLeases must be an integer from 1 to ${ringMaxLeases} (the ring's maxLeases), got ${String(maxLeases)}`)
    }
    if (options.fpsCap !== undefined && !(options.fpsCap > 0)) {
      throw invalidArgument(`consumer "${name}": fpsCap must be a positive number, got ${String(options.fpsCap)}`)
    }
    const c = views.consumers
    checkSlotBudget(views, name, depth, maxLeases)
    // Prefer a free place; take a retired one (losing its final books) only when none is free.
    const candidates: number[] = []
    for (const wanted of [ConsumerState.FREE, ConsumerState.RETIRED]) {
      for (let i = 0; i < views.geometry.maxConsumers; i++) candidates.push(i * 2 + (wanted === ConsumerState.FREE ? 0 : 1))
    }
    for (const candidate of candidates) {
      const i = candidate >> 1
      const from = candidate & 1 ? ConsumerState.RETIRED : ConsumerState.FREE
      const base = i * CONSUMER_I32_WORDS
      // Claim the entry first (CLAIMING keeps the producer away while we
      // fill it in), then announce it as JOINING.
      if (Atomics.compareExchange(c, base + C_STATE, from, ConsumerState.CLAIMING) !== from) continue
      Atomics.store(c, base + C_READ, Atomics.load(c, base + C_WRITE))
      const nameBytes = textEncoder.encode(name)
      const nameView = new Uint8Array(views.buffer, views.offsets.consumersI32 + (base + C_NAME) * 4, NAME_BYTES)
      nameView.fill(0)
      nameView.set(nameBytes)
      c[base + C_NAME_LENGTH] = nameBytes.length
      c[base + C_DEPTH] = depth
      c[base + C_MAX_LEASES] = maxLeases
      c[base + C_FLAGS] = (options.skipAiLocked ? ConsumerFlags.SKIP_AI_LOCKED : 0) | (options.fpsCap ? ConsumerFlags.RATE_CAPPED : 0)
      const b64 = i * CONSUMER_I64_WORDS
      Atomics.store(views.consumers64, b64 + CB_MIN_INTERVAL, options.fpsCap ? BigInt(Math.round(1e9 / options.fpsCap)) : 0n)
      Atomics.store(views.consumers64, b64 + CB_LAST_ENQUEUED, -1n)
      Atomics.store(c, base + C_THREAD_ID, threadId)
      Atomics.store(c, base + C_LEASES, 0)
      Atomics.store(c, base + C_WAITING, 0)
      Atomics.add(c, base + C_GENERATION, 1)
      Atomics.store(c, base + C_STATE, ConsumerState.JOINING)
      const consumer = new RingConsumer(views, i, name, { ...options, maxLeases })
      consumer.generation = Atomics.load(c, base + C_GENERATION)
      return consumer
    }
    throw noConsumerSlot(views.geometry.maxConsumers)
  }

  /** True until leave() or until the ring declared this consumer dead. */
  get active(): boolean {
    if (this.closed) return false
    const state = Atomics.load(this.v.consumers, this.base + C_STATE)
    return state === ConsumerState.ACTIVE || state === ConsumerState.JOINING
  }

  /** Frames queued for this consumer right now. */
  lag(): number {
    const c = this.v.consumers
    return (Atomics.load(c, this.base + C_WRITE) - Atomics.load(c, this.base + C_READ)) | 0
  }

  get leaseCount(): number {
    return this.held.length
  }

  /** Takes the oldest queued frame without waiting; null when none is queued. */
  tryAcquire(): FrameLease | null {
    if (this.closed) throw consumerClosed(this.name)
    if (this.held.length >= this.maxLeases) {
      this.checkStillJoined()
      throw leaseLimit(this.name, this.maxLeases)
    }
    const c = this.v.consumers
    const readIdx = this.base + C_READ
    const writeIdx = this.base + C_WRITE
    for (;;) {
      const r = Atomics.load(c, readIdx)
      if (r === Atomics.load(c, writeIdx)) {
        this.checkStillJoined()
        return null
      }
      const slot = Atomics.load(this.v.queues, this.queueBase + (r % this.cap))
      // The producer may have dropped this entry meanwhile; the CAS decides who owns it.
      if (Atomics.compareExchange(c, readIdx, r, (r + 1) | 0) !== r) continue
      if (this.filtering) {
        const skip = this.skipReason(slot)
        if (skip >= 0) {
          this.dropOwned(slot, skip as DropReasonCode)
          continue
        }
      }
      this.v.add64(this.index * CONSUMER_I64_WORDS + CB_DELIVERED, 1)
      Atomics.add(c, this.base + C_LEASES, 1)
      const bytes = (this.slotViews[slot] ??= this.v.slotBytes(slot))
      const aux = (this.auxViews[slot] ??= this.v.slotAux(slot))
      const lease = new SlotLease(this.v, slot, bytes, aux)
      this.held.push(lease)
      return lease
    }
  }

  /**
   * Waits up to timeoutMs for a frame (Atomics.wait: blocks the thread, so
   * use it in workers, never on the main thread).
   */
  acquire(timeoutMs: number): FrameLease | null {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const turn = this.waitTurn(deadline)
      if (turn !== SLEEP) return turn
      if (this.sleepOn !== null) Atomics.wait(this.v.consumers, this.base + C_WRITE, this.sleepOn, this.sleepMs)
      Atomics.store(this.v.consumers, this.base + C_WAITING, 0)
    }
  }

  /** Like acquire() but without blocking the thread (Atomics.waitAsync). */
  async acquireAsync(timeoutMs: number): Promise<FrameLease | null> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const turn = this.waitTurn(deadline)
      if (turn !== SLEEP) return turn
      if (this.sleepOn !== null) await waitOnWord(this.v.consumers, this.base + C_WRITE, this.sleepOn, this.sleepMs)
      Atomics.store(this.v.consumers, this.base + C_WAITING, 0)
    }
  }

  /**
   * One turn of the acquire loops (shared by the blocking and the async one):
   * a frame, null when the deadline has passed, or SLEEP with the wait
   * announced, `sleepOn` the write index to sleep on (null: a frame arrived
   * meanwhile, go round again) and `sleepMs` the time left.
   */
  private waitTurn(deadline: number): FrameLease | null | typeof SLEEP {
    const lease = this.tryAcquire()
    if (lease) return lease
    this.sleepMs = deadline - performance.now()
    if (this.sleepMs <= 0) return null
    this.sleepOn = this.announceWait()
    return SLEEP
  }

  /**
   * Sets the waiting flag and returns the write index to sleep on, or null
   * when a frame arrived meanwhile. Checking again after announcing the wait
   * means a publish in between is never missed: the producer sees the flag,
   * or we see its write.
   */
  private announceWait(): number | null {
    const c = this.v.consumers
    const w = Atomics.load(c, this.base + C_WRITE)
    Atomics.store(c, this.base + C_WAITING, 1)
    return Atomics.load(c, this.base + C_READ) === w ? w : null
  }

  /** Gives the frame back; its slot becomes reusable once every consumer released it. */
  release(lease: FrameLease): void {
    const at = this.held.indexOf(lease)
    if (at < 0) throw foreignLease(this.name)
    this.held.splice(at, 1)
    Atomics.and(this.v.slots, lease.slot * SLOT_I32_WORDS + S_HOLDERS, ~this.bit)
    Atomics.sub(this.v.consumers, this.base + C_LEASES, 1)
  }

  /**
   * Counts a frame this consumer took but chose not to use (for example the
   * detection client when its service is busy) under a reason, and releases it.
   * delivered is corrected so delivered + dropped still equals published.
   */
  discard(lease: FrameLease, reason: DropReasonCode): void {
    this.release(lease)
    const b64 = this.index * CONSUMER_I64_WORDS
    this.v.sub64(b64 + CB_DELIVERED, 1)
    this.v.add64(b64 + CB_DROPPED + reason, 1)
  }

  /** Releases everything held and leaves; the producer reclaims what is still queued. */
  leave(): void {
    if (this.closed) return
    for (const lease of [...this.held]) this.release(lease)
    this.closed = true
    const c = this.v.consumers
    const stateIdx = this.base + C_STATE
    // Never activated, so nothing was ever queued: give the entry straight back.
    // Otherwise the producer reclaims it at its next publish.
    if (Atomics.compareExchange(c, stateIdx, ConsumerState.JOINING, ConsumerState.FREE) === ConsumerState.JOINING) return
    Atomics.compareExchange(c, stateIdx, ConsumerState.ACTIVE, ConsumerState.LEAVING)
  }

  /**
   * Throws once the ring has declared this consumer dead (its thread was
   * presumed gone) or reclaimed its place, so a zombie never reads slots it
   * no longer holds.
   */
  private checkStillJoined(): void {
    const c = this.v.consumers
    const state = Atomics.load(c, this.base + C_STATE)
    const mine = Atomics.load(c, this.base + C_GENERATION) === this.generation
    if (!mine || state !== ConsumerState.ACTIVE && state !== ConsumerState.JOINING) {
      this.closed = true
      this.held.length = 0
      throw consumerClosed(this.name)
    }
  }

  /** The one rule only the consumer can apply: the frame's age when it gets to it. */
  private skipReason(slot: number): number {
    const captureTsNs = this.v.slots64[slot * SLOT_I64_WORDS + SB_CAPTURE_TS]!
    if (process.hrtime.bigint() - captureTsNs > this.maxAgeNs) return DropReason.STALE
    return -1
  }

  private dropOwned(slot: number, reason: DropReasonCode): void {
    Atomics.and(this.v.slots, slot * SLOT_I32_WORDS + S_HOLDERS, ~this.bit)
    this.v.add64(this.index * CONSUMER_I64_WORDS + CB_DROPPED + reason, 1)
  }
}

/**
 * Refuses a consumer whose queue and leases would not fit the slots left:
 * with every joined consumer inside its budget, the producer always finds a
 * free slot. (Two consumers joining at the same instant could both pass; the
 * producer then drops with a counted no-free-slot instead of ever waiting.)
 */
function checkSlotBudget(views: RingViews, name: string, depth: number, leases: number): void {
  const c = views.consumers
  let committed = 0
  for (let i = 0; i < views.geometry.maxConsumers; i++) {
    const base = i * CONSUMER_I32_WORDS
    const state = Atomics.load(c, base + C_STATE)
    if (state === ConsumerState.FREE || state === ConsumerState.RETIRED) continue
    committed += c[base + C_DEPTH]! + c[base + C_MAX_LEASES]!
  }
  const budget = views.geometry.slotCount - SLOT_RESERVE
  if (committed + depth + leases > budget) throw slotBudgetExceeded(name, depth, leases, committed, budget)
}
