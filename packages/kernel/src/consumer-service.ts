import { FrameRing, type ConsumerOptions, type FrameLease, type RingConsumer } from '@heart/ring'
import { MetricsRegistry, startWorkerTracing, type Catalogue, type WorkerTracingConfig } from '@heart/telemetry'
import { KernelMetric } from './metrics.js'
import { serveWorker, setWorkerLogFields, type ServiceContext } from './service.js'
import { ProgressStamps, TURN_STAMP_MS } from './watchdog.js'

/**
 * The runtime gives its event loop a turn at least this often while frames
 * keep coming: an `await` on a frame that is already queued resolves as a
 * microtask, so without it a busy consumer never runs its timers (its own,
 * heart's heap report, the watchdog's turn stamp).
 */
export const YIELD_EVERY_MS = 4

/** The config every consumer worker gets; apps add their own fields in `app`. */
export interface ConsumerServiceConfig<A = unknown> {
  /** Key of the ring's buffer in ctx.shared. */
  ring: string
  consumer: ConsumerOptions
  app: A
  /** Shared metrics to record delivery latency into (key of ctx.shared + the run's joined catalogue, built once in the main thread). */
  metrics?: { key: string; catalogue: Catalogue }
  /** Frame tracing: a `consume <name>` span for each sampled frame, under the capture worker's `frame` span. */
  tracing?: WorkerTracingConfig
  /** Key of the watchdog's progress block in ctx.shared (watchdog.ts); absent: no watchdog. */
  progress?: string
  /**
   * The name it joins the ring with, when that is not its service name: with
   * several cameras the service is `CAMERA.NAME` (unique in the process) and
   * the ring place, its metrics and spans keep the consumer's own NAME.
   */
  ringName?: string
}

export interface FrameHandler {
  /** Called for each frame with its pixels in place; the lease is released when it returns. */
  onFrame(frame: FrameLease, consumer: RingConsumer): void | Promise<void>
  /** Called once when the service stops. */
  onStop?(): void | Promise<void>
  /** Present: the consumer is in the ring only while someone wants its work (see FrameDemand). */
  demand?: FrameDemand
}

/**
 * Work on demand (the live-view encoder with no viewer): while `wanted()` is
 * false the service leaves the ring and sleeps in `waitWanted`, so it takes
 * no frames and costs no CPU, and the ring counts nothing against it (a
 * consumer that stayed joined without taking frames would be counted as
 * `<name>_slow` drops, which would be a lie). Its books stay in /health as
 * those of an idle consumer; it joins again when wanted and starts at the
 * newest frame.
 */
export interface FrameDemand {
  wanted(): boolean
  /** Resolves once wanted() may have turned true, or after timeoutMs (the event loop turns meanwhile). */
  waitWanted(timeoutMs: number): Promise<void>
}

/**
 * The worker side of a frame consumer: joins the ring under the service's
 * name, waits for frames without blocking its event loop, hands each one to
 * the handler in place and releases it afterwards. A handler that throws
 * crashes the worker; the supervisor restarts it and the ring reclaims what it
 * held, so the other consumers never notice.
 */
export function serveConsumer<A>(setup: (ctx: ServiceContext<ConsumerServiceConfig<A>>) => FrameHandler | Promise<FrameHandler>): void {
  serveWorker<ConsumerServiceConfig<A>>(async (ctx) => {
    const buffer = ctx.shared[ctx.config.ring]
    const ring = FrameRing.attach(buffer)
    const progress = ctx.config.progress ? ProgressStamps.attach(ctx.shared[ctx.config.progress]) : null
    progress?.thread()
    // Stamps only when the event loop turns: a busy loop freezes it, which the watchdog reads.
    const turns = progress ? setInterval(() => progress.turn(), TURN_STAMP_MS) : null
    turns?.unref()
    const ringName = ctx.config.ringName ?? ctx.name
    const handler = await setup(ctx)
    const demand = handler.demand ?? null
    let consumer: RingConsumer | null = null
    let hasLeft = false
    const join = async (): Promise<RingConsumer> => {
      const joinedConsumer = await joinRing(ring, ringName, ctx.config.consumer, hasLeft)
      // The watchdog judges this life from its first full event-loop turn after
      // joining: a thread still finishing its start-up (a slow, loaded box) is
      // not a stuck consumer.
      await nextTurn(progress)
      progress?.joined(joinedConsumer.index)
      return joinedConsumer
    }
    if (!demand || demand.wanted()) consumer = await join()
    const latency = publishToConsume(ctx.config, ctx.shared)
    const tracing = startWorkerTracing(ctx.config.tracing, ctx.shared, ringName, ctx.log)
    const deliver = async (frame: FrameLease, from: RingConsumer): Promise<void> => {
      const acquiredNs = process.hrtime.bigint()
      latency?.record(Number(acquiredNs - frame.publishTsNs) / 1e6)
      // null for unsampled frames (one atomic load); the span covers the handler's work.
      const span = tracing?.consume(frame.seq, frame.publishTsNs, acquiredNs) ?? null
      if (span) setWorkerLogFields({ trace_id: span.traceId, span_id: span.spanId })
      try {
        await handler.onFrame(frame, from)
      } finally {
        span?.end()
        if (span) setWorkerLogFields(null)
        // The handler may have released or discarded it already.
        if (from.leaseCount > 0) {
          try {
            from.release(frame)
          } catch {
            // already given back by the handler
          }
        }
        progress?.frame()
      }
    }
    let lastTurnMs = performance.now()
    try {
      while (!ctx.signal.aborted) {
        if (demand && !demand.wanted()) {
          if (consumer) {
            // Nobody wants frames: finish what is queued (so the ring does not
            // count it as reclaimed), then leave, so nothing more is queued or
            // counted for us.
            for (let frame = consumer.tryAcquire(); frame; frame = consumer.tryAcquire()) await deliver(frame, consumer)
            consumer.leave()
            hasLeft = true
            consumer = null
            progress?.joined(-1)
          }
          await demand.waitWanted(100)
          lastTurnMs = performance.now()
          continue
        }
        consumer ??= await join()
        if (performance.now() - lastTurnMs >= YIELD_EVERY_MS) {
          await nextTurn(progress)
          lastTurnMs = performance.now()
        }
        const frame = await consumer.acquireAsync(100)
        if (!frame) {
          // acquireAsync waited (its event loop turned meanwhile).
          lastTurnMs = performance.now()
          continue
        }
        await deliver(frame, consumer)
      }
    } finally {
      if (turns) clearInterval(turns)
      consumer?.leave()
      await handler.onStop?.()
      await tracing?.shutdown()
    }
  })
}

/** How long a consumer working on demand retries joining again while its last place is still being reclaimed. */
const REJOIN_PATIENCE_MS = 2000
const REJOIN_RETRY_MS = 10

/**
 * Joins the ring. After a leave, the place (and slot budget) it left stays
 * taken until the producer's next publish reclaims it, so a quick rejoin may
 * find the ring full for a frame interval: it retries for a while instead of
 * crashing.
 */
async function joinRing(ring: FrameRing, name: string, options: ConsumerOptions, rejoin: boolean): Promise<RingConsumer> {
  for (let waitedMs = 0; ; waitedMs += REJOIN_RETRY_MS) {
    try {
      return ring.consumer(name, options)
    } catch (err) {
      const code = (err as { code?: string }).code
      const stillReclaiming = code === 'RING_SLOTS_EXHAUSTED' || code === 'RING_FULL_OF_CONSUMERS'
      if (!rejoin || !stillReclaiming || waitedMs >= REJOIN_PATIENCE_MS) throw err
      await new Promise((resolve) => setTimeout(resolve, REJOIN_RETRY_MS))
    }
  }
}

/** One full turn of the event loop (timers, I/O, immediates), not just a microtask. */
function nextTurn(progress: ProgressStamps | null): Promise<void> {
  return new Promise((resolve) =>
    setImmediate(() => {
      progress?.turn()
      resolve()
    }),
  )
}

/** The publish-to-consume histogram, when the kernel shares a metrics registry. */
function publishToConsume(config: ConsumerServiceConfig<unknown>, shared: Record<string, SharedArrayBuffer>): { record(ms: number): void } | null {
  const buffer = config.metrics ? shared[config.metrics.key] : undefined
  if (!config.metrics || !buffer) return null
  const registry = MetricsRegistry.attach(buffer, config.metrics.catalogue)
  const all = registry.histogram(KernelMetric.frameLatency, { stage: 'publish_to_consume' })
  // heart.frames.delivered is not counted here: the kernel's MetricsUpkeep copies it from the ring's books,
  // so /metrics and /health show the same number.
  return all
}
