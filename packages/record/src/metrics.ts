// The metrics the recorder worker records: frames and bytes it wrote,
// segments it finished, packets it lost (by reason) and whether it is paused.
// Declared here, next to the code that records them; the CLI joins every
// package's declarations into the run's catalogue. Every series has a
// `camera` label (DESIGN.md: every per-camera series has one).
import { MetricsRegistry, type Catalogue, type Counter, type Gauge } from '@heart/telemetry'
import { RECORDER_TROUBLE, type RecorderHealthInput } from './health.js'

/** Metric names, so call sites cannot misspell them. */
export const RecorderMetric = Object.freeze({
  recorderFrames: 'heart.recorder.frames',
  recorderBytes: 'heart.recorder.bytes',
  recorderDropped: 'heart.recorder.dropped',
  recorderSegments: 'heart.recorder.segments',
  recorderPaused: 'heart.recorder.paused',
})

/** Why the recorder lost packets: it fell behind (a slow disk) or it was paused (disk full, drive gone, write errors). */
export const RECORDER_DROP_REASONS = Object.freeze(['recorder_slow', 'recorder_paused'] as const)

/** The recorder's series for the cameras being recorded (none: nothing to declare). */
export function recorderMetrics(cameras: readonly string[]): Catalogue {
  if (cameras.length === 0) return []
  const camera = [...cameras]
  return [
    { name: RecorderMetric.recorderFrames, kind: 'counter', unit: '{frame}', description: 'Frames the recorder wrote into segment files.', attributes: { camera } },
    { name: RecorderMetric.recorderBytes, kind: 'counter', unit: 'By', description: 'Bytes the recorder wrote into segment files.', attributes: { camera } },
    {
      name: RecorderMetric.recorderDropped,
      kind: 'counter',
      unit: '{packet}',
      description: 'Packets the recorder lost before its muxer, by reason.',
      attributes: { camera, reason: [...RECORDER_DROP_REASONS] },
    },
    { name: RecorderMetric.recorderSegments, kind: 'counter', unit: '{segment}', description: 'Segment files the recorder started.', attributes: { camera } },
    { name: RecorderMetric.recorderPaused, kind: 'gauge', unit: '{state}', description: '1 while the recorder should record and cannot (disk full, drive gone, writes failing), else 0.', attributes: { camera } },
  ]
}

/** Where the recorder worker finds the registry: the key of its shared buffer and the run's catalogue. */
export interface RecorderMetricsConfig {
  key: string
  catalogue: Catalogue
}

/**
 * Turns the recorder's health reports (running totals, every 500 ms and on
 * every state change) into counter increments. A restarted worker makes a
 * new writer whose totals start again at 0 and adds to the same shared
 * counters, so they go on from where they were, as Prometheus counters must.
 */
export class RecorderMetricsWriter {
  private readonly counters: ReadonlyArray<{ counter: Counter; total: (h: RecorderHealthInput) => number; last: number }>
  private readonly paused: Gauge

  constructor(registry: MetricsRegistry, camera: string) {
    const c = (name: string, total: (h: RecorderHealthInput) => number, reason?: string): { counter: Counter; total: (h: RecorderHealthInput) => number; last: number } => ({
      counter: registry.counter(name, reason === undefined ? { camera } : { camera, reason }),
      total,
      last: 0,
    })
    this.counters = [
      c(RecorderMetric.recorderFrames, (h) => h.frames_total),
      c(RecorderMetric.recorderBytes, (h) => h.bytes_total),
      c(RecorderMetric.recorderSegments, (h) => h.segments_total),
      c(RecorderMetric.recorderDropped, (h) => h.dropped.recorder_slow, 'recorder_slow'),
      c(RecorderMetric.recorderDropped, (h) => h.dropped.recorder_paused, 'recorder_paused'),
    ]
    this.paused = registry.gauge(RecorderMetric.recorderPaused, { camera })
  }

  /** The worker's side: attaches the main thread's registry, or null when the run has no metrics. */
  static attach(config: RecorderMetricsConfig | undefined, shared: Record<string, SharedArrayBuffer>, camera: string): RecorderMetricsWriter | null {
    const buffer = config ? shared[config.key] : undefined
    if (!config || !buffer) return null
    return new RecorderMetricsWriter(MetricsRegistry.attach(buffer, config.catalogue), camera)
  }

  update(h: RecorderHealthInput): void {
    for (const entry of this.counters) {
      const now = entry.total(h)
      if (now > entry.last) entry.counter.add(now - entry.last)
      entry.last = now
    }
    this.paused.set(RECORDER_TROUBLE.has(h.state) ? 1 : 0)
  }
}
