// The metrics the kernel records: ring deliveries, drops, occupancy and lag
// (MetricsUpkeep), the main loop's ticks (TickLoop), the camera figures it
// samples from health, and the publish-to-consume latency of every consumer
// (serveConsumer). Other packages declare theirs next to the code that records
// them (capture, thermal); the CLI joins them into the run's catalogue.
import { FRAME_DROP_METRIC_REASONS, SKIP_REASON_NAMES, WORKER_EXIT_REASONS } from '@heart/contracts'
import type { Catalogue, HistogramOptions, MetricDeclaration } from '@heart/telemetry'

/** Metric names, so call sites cannot misspell them. */
export const KernelMetric = Object.freeze({
  framesDelivered: 'heart.frames.delivered',
  framesDropped: 'heart.frames.dropped',
  framesSkipped: 'heart.frames.skipped',
  frameLatency: 'heart.frame.latency',
  loopTickInterval: 'heart.loop.tick.interval',
  loopTickDuration: 'heart.loop.tick.duration',
  cameraLastFrameAge: 'heart.camera.last_frame_age',
  cameraAiLocked: 'heart.camera.ai_locked',
  ringOccupancy: 'heart.ring.occupancy',
  consumerLag: 'heart.consumer.lag',
  consumerRestarts: 'heart.consumer.restarts',
  threadCpu: 'heart.thread.cpu',
})

/** Milliseconds from 1 µs to 100 s at <= 3.1 % relative error (866 buckets, 3.5 KB each): every heart duration. */
export const MS_HISTOGRAM: HistogramOptions = Object.freeze({ lowest: 0.001, highest: 100_000, subBuckets: 32 })

/**
 * heart.frame.latency, for the stages a package measures. Every package that
 * measures a stage declares it with this, so the declarations agree and
 * joinCatalogues() unites their stages. Stamps are CLOCK_MONOTONIC ring meta.
 */
export function frameLatencyMetric(stages: readonly string[]): MetricDeclaration {
  return {
    name: KernelMetric.frameLatency,
    kind: 'histogram',
    unit: 'ms',
    description: 'Frame latency between two points of its journey.',
    attributes: { stage: stages },
    histogram: MS_HISTOGRAM,
  }
}

export interface KernelMetricsOptions {
  /** Ring consumer names (may be empty); `producer` is always added for drops before any consumer (no_slot). */
  consumers: readonly string[]
  /** Thread names heart.thread.cpu is exported for (`main` and every worker's service name); none: not declared. */
  threads?: readonly string[]
}

export function kernelMetrics(options: KernelMetricsOptions): Catalogue {
  const consumers = [...options.consumers]
  const dropConsumers = consumers.includes('producer') ? consumers : [...consumers, 'producer']
  // A camera-only setup (no consumers) is valid: its per-consumer metrics have no series, so they are not declared.
  const perConsumer = (d: MetricDeclaration): MetricDeclaration[] => (consumers.length > 0 ? [d] : [])
  return [
    ...perConsumer({ name: KernelMetric.framesDelivered, kind: 'counter', unit: '{frame}', description: 'Frames a consumer acquired.', attributes: { consumer: consumers } }),
    {
      name: KernelMetric.framesDropped,
      kind: 'counter',
      unit: '{frame}',
      description: 'Frames lost: a consumer wanted them and never saw them, by reason (producer: lost before publishing).',
      // The ring's loss reasons (@heart/contracts), plus no_slot for the producer. reclaimed: still queued when its consumer died or left.
      attributes: { consumer: dropConsumers, reason: FRAME_DROP_METRIC_REASONS },
    },
    ...perConsumer({
      name: KernelMetric.framesSkipped,
      kind: 'counter',
      unit: '{frame}',
      description: 'Frames a consumer chose not to take (its fpsCap, the AI-lock), by reason; never lost.',
      attributes: { consumer: consumers, reason: [...SKIP_REASON_NAMES] },
    }),
    frameLatencyMetric(['publish_to_consume']),
    { name: KernelMetric.loopTickInterval, kind: 'histogram', unit: 'ms', description: 'Time between the starts of consecutive main-loop ticks.', histogram: MS_HISTOGRAM },
    { name: KernelMetric.loopTickDuration, kind: 'histogram', unit: 'ms', description: 'Time the main loop spent working in one tick.', histogram: MS_HISTOGRAM },
    { name: KernelMetric.cameraLastFrameAge, kind: 'gauge', unit: 'ms', description: 'Age of the newest published frame when last checked.' },
    { name: KernelMetric.cameraAiLocked, kind: 'gauge', unit: '{state}', description: '1 while the supervisor holds the camera down (frames flagged AI-locked), else 0.' },
    { name: KernelMetric.ringOccupancy, kind: 'gauge', unit: '1', description: 'Fraction of ring slots holding a frame not yet released by every consumer (0..1).' },
    ...perConsumer({ name: KernelMetric.consumerLag, kind: 'gauge', unit: '{frame}', description: 'Frames published but not yet acquired by the consumer.', attributes: { consumer: consumers } }),
    ...perConsumer({
      name: KernelMetric.consumerRestarts,
      kind: 'counter',
      unit: '{restart}',
      description: 'Times a consumer worker ended against its will and was restarted, by reason (stalled, out_of_memory, error, exit).',
      attributes: { consumer: consumers, reason: [...WORKER_EXIT_REASONS] },
    }),
    ...(options.threads && options.threads.length > 0
      ? [
          {
            name: KernelMetric.threadCpu,
            kind: 'gauge',
            unit: '1',
            description: 'Share of one core a heart thread used over the last few seconds (1 = a whole core), by thread: main or a worker.',
            attributes: { thread: [...options.threads] },
          } satisfies MetricDeclaration,
        ]
      : []),
  ]
}
