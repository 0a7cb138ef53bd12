import type { HeartEventMap, HeartEventType } from '@heart/contracts'
import type { KernelEvent, Logger } from './types.js'
import { silentLogger } from './logger.js'

export type EventHandler<P = unknown> = (event: KernelEvent<P>) => void

/**
 * A bounded FIFO of events, drained by the tick loop. Producers (worker
 * messages, drivers) push from anywhere on the main thread; a full queue
 * drops the newest event and counts it, so a flood can never grow memory or
 * starve the loop. Subscribers run during drain; one that throws is logged
 * and the others still run.
 */
export class EventQueue {
  readonly capacity: number
  private readonly items: Array<KernelEvent | undefined>
  private head = 0
  private size = 0
  private readonly handlers = new Map<string, Set<EventHandler>>()
  private readonly anyHandlers = new Set<EventHandler>()
  private readonly logger: Logger
  /** Events refused because the queue was full. */
  dropped = 0
  /** Events delivered to subscribers so far. */
  delivered = 0
  /** Subscriber calls that threw. */
  handlerErrors = 0

  constructor(capacity = 1024, logger: Logger = silentLogger) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event queue capacity must be a positive integer, got ${capacity}`)
    this.capacity = capacity
    this.items = new Array(capacity)
    this.logger = logger
  }

  get length(): number {
    return this.size
  }

  /** Queues an event; false (and counted) when the queue is full. heart's own types are checked against HeartEventMap. */
  push<K extends HeartEventType>(type: K, payload: HeartEventMap[K], source?: string): boolean
  push<P>(type: string, payload: P, source?: string): boolean
  push(type: string, payload: unknown, source = 'kernel'): boolean {
    if (this.size === this.capacity) {
      this.dropped++
      return false
    }
    this.items[(this.head + this.size) % this.capacity] = { type, source, atMs: performance.now(), payload }
    this.size++
    return true
  }

  /** Subscribes to one event type, or to every event with '*'. Returns an unsubscribe function. */
  on<K extends HeartEventType>(type: K, handler: EventHandler<HeartEventMap[K]>): () => void
  on<P = unknown>(type: string, handler: EventHandler<P>): () => void
  on(type: string, handler: EventHandler<never>): () => void {
    const h = handler as EventHandler
    if (type === '*') {
      this.anyHandlers.add(h)
      return () => this.anyHandlers.delete(h)
    }
    let set = this.handlers.get(type)
    if (!set) this.handlers.set(type, (set = new Set()))
    set.add(h)
    return () => set!.delete(h)
  }

  /** Delivers up to `max` queued events; the rest wait for the next tick so one tick stays short. */
  drain(max = Infinity): number {
    let n = 0
    while (this.size > 0 && n < max) {
      const event = this.items[this.head]!
      this.items[this.head] = undefined
      this.head = (this.head + 1) % this.capacity
      this.size--
      n++
      this.dispatch(event, this.handlers.get(event.type))
      this.dispatch(event, this.anyHandlers)
    }
    this.delivered += n
    return n
  }

  private dispatch(event: KernelEvent, handlers: Set<EventHandler> | undefined): void {
    if (!handlers) return
    for (const handler of handlers) {
      try {
        handler(event)
      } catch (error) {
        this.handlerErrors++
        this.logger.error('event subscriber threw; other subscribers still ran', { type: event.type, error })
      }
    }
  }
}
