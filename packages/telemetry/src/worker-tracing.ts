// Frame tracing inside a worker thread: what the capture worker and every
// consumer worker need, from the plain-data config the main thread hands
// them plus the shared TraceTable buffer.

import { startTracing, FrameTracer, type TracingHandle } from './tracing.js'
import { TraceTable } from './trace-table.js'

/** Structured-cloneable: goes into a worker's config. */
export interface WorkerTracingConfig {
  /** Key of the TraceTable's buffer in the worker's shared buffers. */
  key: string
  sampleEvery: number
  /** OTLP/HTTP traces URL. */
  url: string
  headers?: Record<string, string>
  /** Batch delay before export (default 1000 ms). */
  scheduledDelayMillis?: number
}

export interface WorkerFrameTracing {
  frames: FrameTracer
  tracing: TracingHandle
  /** Flushes and stops the exporter, bounded so a dead collector cannot hold a stopping worker. */
  shutdown(timeoutMs?: number): Promise<void>
}

/** Starts tracing for this thread, or returns null when the config (or the shared table) is absent. */
export function startWorkerTracing(
  config: WorkerTracingConfig | undefined,
  shared: Record<string, SharedArrayBuffer>,
  threadName: string,
): WorkerFrameTracing | null {
  const buffer = config ? shared[config.key] : undefined
  if (!config || !buffer) return null
  const tracing = startTracing({
    threadName,
    url: config.url,
    ...(config.headers ? { headers: config.headers } : {}),
    ...(config.scheduledDelayMillis !== undefined ? { scheduledDelayMillis: config.scheduledDelayMillis } : {}),
  })
  const frames = new FrameTracer({ tracer: tracing.tracer, table: TraceTable.attach(buffer), sampleEvery: config.sampleEvery })
  return {
    frames,
    tracing,
    shutdown: async (timeoutMs = 700) => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
      try {
        await Promise.race([tracing.shutdown().catch(() => undefined), late])
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
