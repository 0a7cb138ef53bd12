// heart's own metrics. Build it once in the main thread (from the run's
// config) and hand the same object to every worker with the buffer, so every
// thread computes the same layout.

import { FRAME_DROP_METRIC_REASONS, WORKER_EXIT_REASONS } from '@heart/contracts'
import type { Catalogue, MetricDeclaration } from './types.js'

/** Metric names, so call sites cannot misspell them. */
export const HeartMetric = Object.freeze({
  framesPublished: 'heart.frames.published',
  framesDelivered: 'heart.frames.delivered',
  framesDropped: 'heart.frames.dropped',
  decodeDuration: 'heart.decode.duration',
  decodeErrors: 'heart.decode.errors',
  decodeFirstFrame: 'heart.decode.first_frame',
  frameLatency: 'heart.frame.latency',
  loopTickInterval: 'heart.loop.tick.interval',
  loopTickDuration: 'heart.loop.tick.duration',
  cameraReopens: 'heart.camera.reopens',
  cameraLastFrameAge: 'heart.camera.last_frame_age',
  cameraAiLocked: 'heart.camera.ai_locked',
  thermalFrames: 'heart.thermal.frames',
  thermalLost: 'heart.thermal.lost',
  ringOccupancy: 'heart.ring.occupancy',
  consumerLag: 'heart.consumer.lag',
  consumerRestarts: 'heart.consumer.restarts',
})

export const DEFAULT_CONSUMERS = Object.freeze(['motion', 'detection', 'encoder'] as const)
/**
 * Why a frame did not reach a consumer (or, for `no_slot`, any consumer): the ring's reasons,
 * from @heart/contracts. `reclaimed`: still queued when its consumer died or left.
 */
export const DEFAULT_DROP_REASONS = FRAME_DROP_METRIC_REASONS
/** Latency stages, all measured from CLOCK_MONOTONIC stamps in the ring meta. */
export const DEFAULT_LATENCY_STAGES = Object.freeze(['receive_to_decode', 'receive_to_publish', 'publish_to_consume'] as const)
export const DEFAULT_THERMAL_LOSS_REASONS = Object.freeze(['bus_error', 'timeout', 'not_ready', 'late', 'invalid_frame', 'overwritten'] as const)

export interface HeartCatalogueOptions {
  /** Ring consumer names (may be empty); `producer` is always added for drops before any consumer (no_slot). */
  consumers?: readonly string[]
  dropReasons?: readonly string[]
  stages?: readonly string[]
  thermalLossReasons?: readonly string[]
}

export function heartCatalogue(options: HeartCatalogueOptions = {}): Catalogue {
  const consumers = [...(options.consumers ?? DEFAULT_CONSUMERS)]
  const dropConsumers = consumers.includes('producer') ? consumers : [...consumers, 'producer']
  const reasons = [...(options.dropReasons ?? DEFAULT_DROP_REASONS)]
  const stages = [...(options.stages ?? DEFAULT_LATENCY_STAGES)]
  const thermalReasons = [...(options.thermalLossReasons ?? DEFAULT_THERMAL_LOSS_REASONS)]
  // ms from 1 µs to 100 s at <= 3.1 % relative error: 866 buckets, 3.5 KB each.
  const ms = { lowest: 0.001, highest: 100_000, subBuckets: 32 }
  // A camera-only setup (no consumers) is valid: its per-consumer metrics have no series, so they are not declared.
  const perConsumer = (d: MetricDeclaration): MetricDeclaration[] => (consumers.length > 0 ? [d] : [])
  return [
    { name: HeartMetric.framesPublished, kind: 'counter', unit: '{frame}', description: 'Frames committed to the ring by the capture worker.' },
    ...perConsumer({ name: HeartMetric.framesDelivered, kind: 'counter', unit: '{frame}', description: 'Frames a consumer acquired.', attributes: { consumer: consumers } }),
    {
      name: HeartMetric.framesDropped,
      kind: 'counter',
      unit: '{frame}',
      description: 'Frames a consumer never saw, by reason (producer: dropped before publishing).',
      attributes: { consumer: dropConsumers, reason: reasons },
    },
    { name: HeartMetric.decodeDuration, kind: 'histogram', unit: 'ms', description: 'Time to decode one frame.', histogram: ms },
    { name: HeartMetric.decodeErrors, kind: 'counter', unit: '{error}', description: 'Packets or frames the decoder rejected.' },
    { name: HeartMetric.decodeFirstFrame, kind: 'gauge', unit: 'ms', description: 'Time from opening the source to the first decoded frame, for the latest open.' },
    {
      name: HeartMetric.frameLatency,
      kind: 'histogram',
      unit: 'ms',
      description: 'Frame latency between two points of its journey.',
      attributes: { stage: stages },
      histogram: ms,
    },
    { name: HeartMetric.loopTickInterval, kind: 'histogram', unit: 'ms', description: 'Time between the starts of consecutive main-loop ticks.', histogram: ms },
    { name: HeartMetric.loopTickDuration, kind: 'histogram', unit: 'ms', description: 'Time the main loop spent working in one tick.', histogram: ms },
    { name: HeartMetric.cameraReopens, kind: 'counter', unit: '{reopen}', description: 'Times the capture worker reopened the source after a failure.' },
    { name: HeartMetric.cameraLastFrameAge, kind: 'gauge', unit: 'ms', description: 'Age of the newest published frame when last checked.' },
    { name: HeartMetric.cameraAiLocked, kind: 'gauge', unit: '{state}', description: '1 while the supervisor holds the camera down (frames flagged AI-locked), else 0.' },
    { name: HeartMetric.thermalFrames, kind: 'counter', unit: '{frame}', description: 'Thermal frames read from the MLX90640.' },
    {
      name: HeartMetric.thermalLost,
      kind: 'counter',
      unit: '{frame}',
      description: 'Thermal frames lost, by reason.',
      attributes: { reason: thermalReasons },
    },
    { name: HeartMetric.ringOccupancy, kind: 'gauge', unit: '1', description: 'Fraction of ring slots holding a frame not yet released by every consumer (0..1).' },
    ...perConsumer({ name: HeartMetric.consumerLag, kind: 'gauge', unit: '{frame}', description: 'Frames published but not yet acquired by the consumer.', attributes: { consumer: consumers } }),
    ...perConsumer({
      name: HeartMetric.consumerRestarts,
      kind: 'counter',
      unit: '{restart}',
      description: 'Times a consumer worker ended against its will and was restarted, by reason (stalled, out_of_memory, error, exit).',
      attributes: { consumer: consumers, reason: [...WORKER_EXIT_REASONS] },
    }),
  ]
}
