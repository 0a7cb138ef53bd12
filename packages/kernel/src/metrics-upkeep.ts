// Main-side metric upkeep. Some figures are not counted per frame by any
// thread but kept as books (the ring's per-consumer delivered/dropped counts,
// its slot use, the camera's last frame age). A few times a second, from the
// kernel's tick loop, this copies them into the shared metrics registry, so
// /metrics, OTLP and /health read the very same numbers.
//
// Counters only go up: each look adds the growth since the previous look. The
// books it reads are already summed over a consumer's restarts (the kernel
// keeps the books of earlier lives), so a restarted consumer keeps adding. If
// a total ever reads lower than before (a consumer's place between death and
// collection), the high-water mark is kept and nothing is added until the
// books pass it again, so nothing is counted twice.

import { HeartMetric, type Counter, type Gauge, type MetricsRegistry } from '@heart/telemetry'
import type { CameraHealth, ConsumerHealth } from './health.js'

/** The ring figures the upkeep needs (FrameRing.stats() has this shape). */
export interface RingFigures {
  slotCount: number
  slotsInUse: number
  noSlotDrops: number
}

export interface MetricsUpkeepSources {
  /** Each consumer's books summed over its lives: the `consumers` object of /health. */
  consumers: () => Record<string, Pick<ConsumerHealth, 'delivered' | 'dropped' | 'lag'>>
  /** The camera ring's figures, or null before there is a ring. */
  ring?: () => RingFigures | null
  /** The `camera` object of /health, or null without a camera. */
  camera?: () => Pick<CameraHealth, 'last_frame_age_ms' | 'ai_locked'> | null
}

/** The consumer name the catalogue uses for drops before any consumer. */
const PRODUCER = 'producer'

/**
 * The ring's reason name -> the catalogue's `reason` attribute. The ring names
 * the slow reason `<consumer>_slow` (so /health reads well on its own); the
 * metric carries the consumer as its own attribute.
 */
export function dropReasonOf(consumer: string, ringReason: string): string {
  return ringReason === `${consumer}_slow` ? 'slow' : ringReason
}

interface Tracked<T> {
  handle: T | null
  last: number
}

export class MetricsUpkeep {
  private readonly registry: MetricsRegistry
  private readonly sources: MetricsUpkeepSources
  private readonly counters = new Map<string, Tracked<Counter>>()
  private readonly gauges = new Map<string, Gauge | null>()
  /** Books names the catalogue does not know (reported once, not every look). */
  private readonly unknown = new Set<string>()
  private readonly onUnknown: ((what: string) => void) | undefined

  constructor(registry: MetricsRegistry, sources: MetricsUpkeepSources, onUnknown?: (what: string) => void) {
    this.registry = registry
    this.sources = sources
    this.onUnknown = onUnknown
  }

  /** One look at every source. Cheap (a handful of map lookups per consumer); run it every 250 ms to 1 s. */
  update(): void {
    const consumers = this.sources.consumers()
    for (const [name, books] of Object.entries(consumers)) {
      this.advance(HeartMetric.framesDelivered, { consumer: name }, books.delivered)
      for (const [ringReason, n] of Object.entries(books.dropped)) {
        this.advance(HeartMetric.framesDropped, { consumer: name, reason: dropReasonOf(name, ringReason) }, n)
      }
      this.set(HeartMetric.consumerLag, { consumer: name }, Math.max(0, books.lag))
    }
    const ring = this.sources.ring?.() ?? null
    if (ring) {
      this.set(HeartMetric.ringOccupancy, {}, ring.slotCount > 0 ? ring.slotsInUse / ring.slotCount : 0)
      this.advance(HeartMetric.framesDropped, { consumer: PRODUCER, reason: 'no_slot' }, ring.noSlotDrops)
    }
    const camera = this.sources.camera?.() ?? null
    if (camera) {
      if (camera.last_frame_age_ms !== null) this.set(HeartMetric.cameraLastFrameAge, {}, camera.last_frame_age_ms)
      this.set(HeartMetric.cameraAiLocked, {}, camera.ai_locked ? 1 : 0)
    }
  }

  private advance(name: string, attributes: Record<string, string>, total: number): void {
    const key = keyOf(name, attributes)
    let t = this.counters.get(key)
    if (t === undefined) {
      // The upkeep is the only writer of these counters: they equal the books.
      t = { handle: this.resolve(key, () => this.registry.counter(name, attributes)), last: 0 }
      this.counters.set(key, t)
    }
    if (t.handle === null || !(total > t.last)) return
    t.handle.add(total - t.last)
    t.last = total
  }

  private set(name: string, attributes: Record<string, string>, value: number): void {
    const key = keyOf(name, attributes)
    let g = this.gauges.get(key)
    if (g === undefined) {
      g = this.resolve(key, () => this.registry.gauge(name, attributes))
      this.gauges.set(key, g)
    }
    g?.set(value)
  }

  /** A handle, or null (remembered) for a name or attribute value the catalogue does not declare. */
  private resolve<T>(key: string, make: () => T): T | null {
    try {
      return make()
    } catch {
      if (!this.unknown.has(key)) {
        this.unknown.add(key)
        this.onUnknown?.(key)
      }
      return null
    }
  }
}

function keyOf(name: string, attributes: Record<string, string>): string {
  let key = name
  for (const [k, v] of Object.entries(attributes)) key += `|${k}=${v}`
  return key
}
