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

import type { Counter, Gauge, MetricsRegistry } from '@heart/telemetry'
import { KernelMetric } from './metrics.js'
import type { CameraHealth, ConsumerHealth } from './health.js'

/** The ring figures the upkeep needs (FrameRing.stats() has this shape). */
export interface RingFigures {
  slotCount: number
  slotsInUse: number
  noSlotDrops: number
}

export interface MetricsUpkeepSources {
  /** Each consumer's books summed over its lives: the `consumers` object of /health. */
  consumers: () => Record<string, Pick<ConsumerHealth, 'delivered' | 'dropped' | 'skipped' | 'lag'>>
  /** The camera ring's figures, or null before there is a ring. */
  ring?: () => RingFigures | null
  /** The `camera` object of /health, or null without a camera. */
  camera?: () => Pick<CameraHealth, 'last_frame_age_ms' | 'ai_locked'> | null
  /** Each thread's recent CPU in per cent of one core, by heart name (ThreadCpuMeter.percents). */
  threadCpu?: () => ReadonlyMap<string, number>
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

interface Tracked {
  handle: Counter | null
  last: number
}

/** One consumer's handles, looked up once (update() runs for the life of the process). */
interface ConsumerHandles {
  delivered: Tracked
  lag: Gauge | null
  /** By the ring's reason name. */
  dropped: Map<string, Tracked>
  /** By skip reason (rate_limited, ai_locked). */
  skipped: Map<string, Tracked>
}

export class MetricsUpkeep {
  private readonly registry: MetricsRegistry
  private readonly sources: MetricsUpkeepSources
  private readonly consumers = new Map<string, ConsumerHandles>()
  private readonly noSlot: Tracked
  private readonly occupancy: Gauge | null
  private readonly lastFrameAge: Gauge | null
  private readonly aiLocked: Gauge | null
  private readonly threadCpu = new Map<string, Gauge | null>()
  /** Books names the catalogue does not know (reported once, not every look). */
  private readonly unknown = new Set<string>()
  private readonly onUnknown: ((what: string) => void) | undefined

  constructor(registry: MetricsRegistry, sources: MetricsUpkeepSources, onUnknown?: (what: string) => void) {
    this.registry = registry
    this.sources = sources
    this.onUnknown = onUnknown
    // Only the figures this upkeep has sources for (the process's upkeep beside several cameras has no ring).
    this.noSlot = sources.ring ? this.counter(KernelMetric.framesDropped, { consumer: PRODUCER, reason: 'no_slot' }) : { handle: null, last: 0 }
    this.occupancy = sources.ring ? this.gauge(KernelMetric.ringOccupancy, {}) : null
    this.lastFrameAge = sources.camera ? this.gauge(KernelMetric.cameraLastFrameAge, {}) : null
    this.aiLocked = sources.camera ? this.gauge(KernelMetric.cameraAiLocked, {}) : null
  }

  /** One look at every source: a few map lookups per consumer, no allocation once warm. Run it every 250 ms to 1 s. */
  update(): void {
    const consumers = this.sources.consumers()
    for (const name in consumers) {
      const books = consumers[name]!
      const h = this.handlesOf(name)
      advance(h.delivered, books.delivered)
      for (const ringReason in books.dropped) {
        let tracked = h.dropped.get(ringReason)
        if (tracked === undefined) {
          tracked = this.counter(KernelMetric.framesDropped, { consumer: name, reason: dropReasonOf(name, ringReason) })
          h.dropped.set(ringReason, tracked)
        }
        advance(tracked, books.dropped[ringReason]!)
      }
      for (const reason in books.skipped) {
        let tracked = h.skipped.get(reason)
        if (tracked === undefined) {
          tracked = this.counter(KernelMetric.framesSkipped, { consumer: name, reason })
          h.skipped.set(reason, tracked)
        }
        advance(tracked, books.skipped[reason]!)
      }
      h.lag?.set(Math.max(0, books.lag))
    }
    const ring = this.sources.ring?.() ?? null
    if (ring) {
      this.occupancy?.set(ring.slotCount > 0 ? ring.slotsInUse / ring.slotCount : 0)
      advance(this.noSlot, ring.noSlotDrops)
    }
    const camera = this.sources.camera?.() ?? null
    if (camera) {
      if (camera.last_frame_age_ms !== null) this.lastFrameAge?.set(camera.last_frame_age_ms)
      this.aiLocked?.set(camera.ai_locked ? 1 : 0)
    }
    const threads = this.sources.threadCpu?.()
    if (threads) {
      for (const [thread, percent] of threads) {
        let gauge = this.threadCpu.get(thread)
        if (gauge === undefined) {
          gauge = this.gauge(KernelMetric.threadCpu, { thread })
          this.threadCpu.set(thread, gauge)
        }
        gauge?.set(percent / 100)
      }
    }
  }

  private handlesOf(name: string): ConsumerHandles {
    let h = this.consumers.get(name)
    if (h === undefined) {
      h = {
        delivered: this.counter(KernelMetric.framesDelivered, { consumer: name }),
        lag: this.gauge(KernelMetric.consumerLag, { consumer: name }),
        dropped: new Map(),
        skipped: new Map(),
      }
      this.consumers.set(name, h)
    }
    return h
  }

  // The upkeep is the only writer of these counters: they equal the books.
  private counter(name: string, attributes: Record<string, string>): Tracked {
    return { handle: this.resolve(name, attributes, () => this.registry.counter(name, attributes)), last: 0 }
  }

  private gauge(name: string, attributes: Record<string, string>): Gauge | null {
    return this.resolve(name, attributes, () => this.registry.gauge(name, attributes))
  }

  /** A handle, or null for a name or attribute value the catalogue does not declare (reported once). */
  private resolve<T>(name: string, attributes: Record<string, string>, make: () => T): T | null {
    try {
      return make()
    } catch {
      let key = name
      for (const [k, v] of Object.entries(attributes)) key += `|${k}=${v}`
      if (!this.unknown.has(key)) {
        this.unknown.add(key)
        this.onUnknown?.(key)
      }
      return null
    }
  }
}

function advance(t: Tracked, total: number): void {
  if (t.handle === null || !(total > t.last)) return
  t.handle.add(total - t.last)
  t.last = total
}
