// The metrics the capture worker records (capture-worker.ts metricsObserver):
// what it published, how long decoding took, its stages of frame latency.
// Declared here, next to the code that records them; the CLI joins every
// package's declarations into the run's catalogue.
import { KernelMetric, MS_HISTOGRAM, frameLatencyMetric } from '@heart/kernel'
import type { Catalogue } from '@heart/telemetry'

/** Metric names, so call sites cannot misspell them. */
export const CaptureMetric = Object.freeze({
  framesPublished: 'heart.frames.published',
  decodeDuration: 'heart.decode.duration',
  decodeErrors: 'heart.decode.errors',
  decodeFirstFrame: 'heart.decode.first_frame',
  cameraReopens: 'heart.camera.reopens',
  /** The kernel's (it measures publish_to_consume); capture measures the stages before the ring. */
  frameLatency: KernelMetric.frameLatency,
})

/** The stages of heart.frame.latency the capture worker measures. */
export const CAPTURE_LATENCY_STAGES = Object.freeze(['receive_to_decode', 'receive_to_publish'] as const)

export function captureMetrics(): Catalogue {
  return [
    { name: CaptureMetric.framesPublished, kind: 'counter', unit: '{frame}', description: 'Frames committed to the ring by the capture worker.' },
    { name: CaptureMetric.decodeDuration, kind: 'histogram', unit: 'ms', description: 'Time to decode one frame.', histogram: MS_HISTOGRAM },
    { name: CaptureMetric.decodeErrors, kind: 'counter', unit: '{error}', description: 'Packets or frames the decoder rejected.' },
    { name: CaptureMetric.decodeFirstFrame, kind: 'gauge', unit: 'ms', description: 'Time from opening the source to the first decoded frame, for the latest open.' },
    frameLatencyMetric(CAPTURE_LATENCY_STAGES),
    { name: CaptureMetric.cameraReopens, kind: 'counter', unit: '{reopen}', description: 'Times the capture worker reopened the source after a failure.' },
  ]
}
