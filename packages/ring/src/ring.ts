import { CB_DELIVERED, CB_DROPPED, CB_JOIN_SEQ, CB_END_SEQ, C_DEPTH, C_GENERATION, C_LEASES, C_NAME, C_NAME_LENGTH, C_READ, C_STATE, C_THREAD_ID, C_WRITE, CONSUMER_I32_WORDS, CONSUMER_I64_WORDS, CONSUMER_STATE_NAMES, ConsumerState, DROP_REASON_COUNT, DROP_REASON_NAMES, DropReason, H_AUX_WORDS, H_DEFAULT_DEPTH, H_EPOCH, H_MAX_CONSUMERS, H_MAX_LEASES, H_NO_SLOT_DROPS, H_PUBLISH_TICK, H_QUEUE_CAPACITY, H_SLOT_BYTES, H_SLOT_COUNT, H_MAGIC, H_VERSION, HB_LAST_CAPTURE_TS, HB_LAST_PUBLISH_TS, HB_PUBLISHED, HEADER_I32_WORDS, MAX_CONSUMERS_LIMIT, RING_MAGIC, RING_VERSION, S_HOLDERS, SLOT_ALIGN, SLOT_I32_WORDS, SLOT_RESERVE, computeOffsets, requiredSlotCount } from './layout.js'
import { invalidArgument, layoutMismatch } from './errors.js'
import { RingViews } from './views.js'
import { RingProducer } from './producer.js'
import { RingConsumer } from './consumer.js'
import type { ConsumerOptions, ConsumerStats, RingStats } from './types.js'

export interface RingOptions {
  /** Bytes per slot: the largest frame this ring will ever carry (see frameLayout().byteLength). */
  slotBytes: number
  /** Consumers that may be joined at once (at most 32). */
  maxConsumers?: number
  /** Default per-consumer queue depth. */
  defaultDepth?: number
  /** Largest queue depth any consumer may ask for. */
  maxDepth?: number
  /** Leases a consumer may hold at once. */
  maxLeases?: number
  /** Float64 extras per frame (thermal Ta/min/max, ...). */
  auxWords?: number
  /** Slot count; defaults to (and may not be below) the sizing rule's minimum. */
  slotCount?: number
}

const textDecoder = new TextDecoder()

function positiveInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

/**
 * A bounded pool of frame slots in one SharedArrayBuffer, one producer and
 * up to 32 consumers. Create it once on the main thread, pass `buffer` to
 * workers, and attach there. Every method is safe to call from any thread
 * that has the buffer; none of them ever blocks the producer.
 */
export class FrameRing {
  readonly views: RingViews

  private constructor(views: RingViews) {
    this.views = views
  }

  static create(options: RingOptions): FrameRing {
    const maxConsumers = positiveInt('maxConsumers', options.maxConsumers ?? 8, 1, MAX_CONSUMERS_LIMIT)
    const defaultDepth = positiveInt('defaultDepth', options.defaultDepth ?? 2, 1, 1024)
    const maxDepth = positiveInt('maxDepth', options.maxDepth ?? Math.max(defaultDepth, 8), defaultDepth, 1024)
    const maxLeases = positiveInt('maxLeases', options.maxLeases ?? 1, 1, 64)
    const auxWords = positiveInt('auxWords', options.auxWords ?? 0, 0, 4096)
    const slotBytes = Math.ceil(positiveInt('slotBytes', options.slotBytes, 1, 2 ** 30) / SLOT_ALIGN) * SLOT_ALIGN
    // By default every place can hold a full queue and its leases (the
    // iceoryx rule). A caller that knows its consumers' depths may ask for
    // fewer slots; joins are then checked against what is left.
    const slotCount = options.slotCount ?? requiredSlotCount(maxConsumers, maxDepth, maxLeases)
    positiveInt('slotCount', slotCount, SLOT_RESERVE + 1 + maxLeases, 65536)
    const geometry = { slotCount, slotBytes, maxConsumers, queueCapacity: maxDepth, auxWords }
    const offsets = computeOffsets(geometry)
    const buffer = new SharedArrayBuffer(offsets.totalBytes)
    const header = new Int32Array(buffer, 0, HEADER_I32_WORDS)
    header[H_SLOT_COUNT] = slotCount
    header[H_SLOT_BYTES] = slotBytes
    header[H_MAX_CONSUMERS] = maxConsumers
    header[H_QUEUE_CAPACITY] = maxDepth
    header[H_AUX_WORDS] = auxWords
    header[H_DEFAULT_DEPTH] = defaultDepth
    header[H_MAX_LEASES] = maxLeases
    header[H_VERSION] = RING_VERSION
    // The magic goes last: a buffer is only attachable once fully laid out.
    Atomics.store(header, H_MAGIC, RING_MAGIC)
    return new FrameRing(new RingViews(buffer, geometry))
  }

  /** Attaches to a ring created elsewhere (typically in a worker). */
  static attach(buffer: unknown): FrameRing {
    if (!(buffer instanceof SharedArrayBuffer)) {
      throw layoutMismatch('FrameRing.attach needs the SharedArrayBuffer of a ring created with FrameRing.create()')
    }
    if (buffer.byteLength < HEADER_I32_WORDS * 4) {
      throw layoutMismatch(`a ${buffer.byteLength}-byte buffer is too small to be a frame ring`)
    }
    const header = new Int32Array(buffer, 0, HEADER_I32_WORDS)
    const magic = Atomics.load(header, H_MAGIC)
    if (magic !== RING_MAGIC) {
      throw layoutMismatch(
        `buffer is not a frame ring (magic 0x${(magic >>> 0).toString(16)}, expected 0x${RING_MAGIC.toString(16)})`,
      )
    }
    const version = header[H_VERSION]!
    if (version !== RING_VERSION) {
      throw layoutMismatch(
        `frame ring layout version ${version} does not match this build's version ${RING_VERSION}; all threads must run the same @heart/ring`,
      )
    }
    const geometry = RingViews.geometryOf(header)
    const expected = computeOffsets(geometry).totalBytes
    if (buffer.byteLength !== expected) {
      throw layoutMismatch(`frame ring buffer is ${buffer.byteLength} bytes but its header describes ${expected}`)
    }
    return new FrameRing(new RingViews(buffer, geometry))
  }

  get buffer(): SharedArrayBuffer {
    return this.views.buffer
  }

  get slotCount(): number {
    return this.views.geometry.slotCount
  }

  get slotBytes(): number {
    return this.views.geometry.slotBytes
  }

  get maxConsumers(): number {
    return this.views.geometry.maxConsumers
  }

  get defaultDepth(): number {
    return this.views.header[H_DEFAULT_DEPTH]!
  }

  get maxLeases(): number {
    return this.views.header[H_MAX_LEASES]!
  }

  /** Frames published so far (= the next frame's seq). Cheap: poll it every tick. */
  published(): bigint {
    return Atomics.load(this.views.header64, HB_PUBLISHED)
  }

  /** A counter bumped on every publish; `Atomics.wait` on it to sleep until the next frame. */
  publishTick(): number {
    return Atomics.load(this.views.header, H_PUBLISH_TICK)
  }

  epoch(): number {
    return Atomics.load(this.views.header, H_EPOCH)
  }

  /** The producer side. Only one thread may produce into a ring at a time. */
  producer(): RingProducer {
    return new RingProducer(this.views)
  }

  /** Joins as a consumer; it receives frames published after the producer activates it. */
  consumer(name: string, options: ConsumerOptions = {}): RingConsumer {
    return RingConsumer.join(this.views, name, options)
  }

  /**
   * Declares consumers owned by a dead thread dead, so the producer reclaims
   * their queued frames and leases at its next publish. The supervisor calls
   * this when a worker exits. Returns how many consumers were marked.
   */
  markThreadDead(threadId: number): number {
    const c = this.views.consumers
    let marked = 0
    for (let i = 0; i < this.maxConsumers; i++) {
      const base = i * CONSUMER_I32_WORDS
      if (Atomics.load(c, base + C_THREAD_ID) !== threadId) continue
      for (const from of [ConsumerState.ACTIVE, ConsumerState.JOINING]) {
        if (Atomics.compareExchange(c, base + C_STATE, from, ConsumerState.DEAD) === from) {
          marked++
          break
        }
      }
    }
    return marked
  }

  /**
   * Frames queued for the consumer at place `index` right now: two atomic
   * loads, no allocation, so a watchdog may call it every tick. 0 for a
   * place that holds no joined consumer.
   */
  queued(index: number): number {
    const c = this.views.consumers
    const base = index * CONSUMER_I32_WORDS
    const state = Atomics.load(c, base + C_STATE)
    if (state !== ConsumerState.ACTIVE && state !== ConsumerState.JOINING) return 0
    return (Atomics.load(c, base + C_WRITE) - Atomics.load(c, base + C_READ)) | 0
  }

  /** Books of every consumer that has a place (retired ones included, until collected). */
  consumerStats(): ConsumerStats[] {
    const out: ConsumerStats[] = []
    for (let i = 0; i < this.maxConsumers; i++) {
      const s = this.statsOf(i)
      if (s) out.push(s)
    }
    return out
  }

  /**
   * Returns the final books of consumers the producer has reclaimed (they
   * left or died) and frees their places. The ring's owner calls this
   * regularly so a dead consumer's figures survive into health.
   */
  collectRetired(): ConsumerStats[] {
    const out: ConsumerStats[] = []
    const c = this.views.consumers
    for (let i = 0; i < this.maxConsumers; i++) {
      const stateIdx = i * CONSUMER_I32_WORDS + C_STATE
      if (Atomics.load(c, stateIdx) !== ConsumerState.RETIRED) continue
      const s = this.statsOf(i)
      // Only report it if we are the ones freeing it (a joiner may have taken it).
      if (s && Atomics.compareExchange(c, stateIdx, ConsumerState.RETIRED, ConsumerState.FREE) === ConsumerState.RETIRED) out.push(s)
    }
    return out
  }

  private statsOf(i: number): ConsumerStats | null {
    const v = this.views
    {
      const base = i * CONSUMER_I32_WORDS
      const state = Atomics.load(v.consumers, base + C_STATE)
      if (state === ConsumerState.FREE || state === ConsumerState.CLAIMING) return null
      const b64 = i * CONSUMER_I64_WORDS
      const nameLength = v.consumers[base + C_NAME_LENGTH]!
      const nameBytes = new Uint8Array(v.buffer, v.offsets.consumersI32 + (base + C_NAME) * 4, nameLength)
      const name = textDecoder.decode(nameBytes.slice())
      const dropped: Record<string, bigint> = {}
      for (let r = 0; r < DROP_REASON_COUNT; r++) {
        const n = Atomics.load(v.consumers64, b64 + CB_DROPPED + r)
        const reason = r === DropReason.SLOW ? `${name}_slow` : DROP_REASON_NAMES[r]!
        dropped[reason] = n
      }
      const active = state !== ConsumerState.JOINING
      const joinSeq = Atomics.load(v.consumers64, b64 + CB_JOIN_SEQ)
      const endSeq = state === ConsumerState.RETIRED ? Atomics.load(v.consumers64, b64 + CB_END_SEQ) : this.published()
      return {
        index: i,
        name,
        state: CONSUMER_STATE_NAMES[state]!,
        threadId: v.consumers[base + C_THREAD_ID]!,
        generation: v.consumers[base + C_GENERATION]!,
        published: active ? endSeq - joinSeq : 0n,
        delivered: Atomics.load(v.consumers64, b64 + CB_DELIVERED),
        dropped,
        lag: (Atomics.load(v.consumers, base + C_WRITE) - Atomics.load(v.consumers, base + C_READ)) | 0,
        leases: Atomics.load(v.consumers, base + C_LEASES),
        depth: v.consumers[base + C_DEPTH]!,
      }
    }
  }

  stats(): RingStats {
    const v = this.views
    let inUse = 0
    for (let s = 0; s < this.slotCount; s++) {
      if (Atomics.load(v.slots, s * SLOT_I32_WORDS + S_HOLDERS) !== 0) inUse++
    }
    return {
      published: this.published(),
      epoch: this.epoch(),
      slotCount: this.slotCount,
      slotBytes: this.slotBytes,
      slotsInUse: inUse,
      noSlotDrops: Atomics.load(v.header, H_NO_SLOT_DROPS),
      lastPublishTsNs: Atomics.load(v.header64, HB_LAST_PUBLISH_TS),
      lastCaptureTsNs: Atomics.load(v.header64, HB_LAST_CAPTURE_TS),
      consumers: this.consumerStats(),
    }
  }
}

