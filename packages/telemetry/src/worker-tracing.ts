// Frame tracing inside a worker thread: what the capture worker and every
// consumer worker need, from the plain-data config the main thread hands
// them plus the shared TraceTable (and ConsumeLog) buffers.
//
// Two roles. The capture worker runs an OpenTelemetry SDK and exports the
// frame's spans. A consumer named in `consumeLog.consumers` runs no SDK at
// all: it writes its consume timing into the shared ConsumeLog, and the
// capture worker emits its `consume <name>` span (emitConsumeSpans) under the
// frame's root. A consumer not in that list exports its own span.

import { SpanKind, TraceFlags, context, trace, type Attributes as OtelAttributes } from '@opentelemetry/api'
import { startTracing, FrameTracer, type TracingHandle } from './tracing.js'
import { TraceTable } from './trace-table.js'
import { ConsumeLog } from './consume-log.js'
import { monotonicToHrTime } from './clock.js'
import { OTLP_STOP_BOUND_MS, type ExportLog } from './otlp-export.js'

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
  /** Consumers that hand their timing to the capture worker instead of exporting (index = position). */
  consumeLog?: { key: string; consumers: string[] }
  /** The camera whose frames these are: every span says `heart.camera`. */
  camera?: string
}

/** A sampled frame's consume in progress; end() when the work is done. */
export interface ConsumeTrace {
  end(): void
  /** The frame's trace, for log lines written while working on it. */
  readonly traceId: string
  readonly spanId: string
}

export interface WorkerFrameTracing {
  /** The producer's / self-exporting consumer's tracer; null in a consumer that uses the consume log. */
  frames: FrameTracer | null
  tracing: TracingHandle | null
  /**
   * Consumer, when it acquired frame `seq`: null for unsampled frames (one
   * atomic load, no allocation); otherwise call end() after the work.
   */
  consume(seq: bigint, publishNs: bigint, acquiredNs: bigint): ConsumeTrace | null
  /** Producer: turns consumers' records in the consume log into spans. Returns how many. */
  emitConsumeSpans(): number
  /** Emits what is left, flushes and stops the exporter, bounded so a dead collector cannot hold a stopping worker. */
  shutdown(timeoutMs?: number): Promise<void>
}

/**
 * Starts tracing for this thread, or returns null when the config (or the
 * shared table) is absent. `log` (the worker's ctx.log) gets the one warning
 * when the collector cannot be reached.
 */
export function startWorkerTracing(
  config: WorkerTracingConfig | undefined,
  shared: Record<string, SharedArrayBuffer>,
  threadName: string,
  log?: ExportLog,
): WorkerFrameTracing | null {
  const buffer = config ? shared[config.key] : undefined
  if (!config || !buffer) return null
  const table = TraceTable.attach(buffer)
  const logBuffer = config.consumeLog ? shared[config.consumeLog.key] : undefined
  const consumeLog = logBuffer ? ConsumeLog.attach(logBuffer) : null
  const consumers = config.consumeLog?.consumers ?? []
  const myIndex = consumeLog ? consumers.indexOf(threadName) : -1

  if (consumeLog && myIndex >= 0) {
    // A consumer that reports through the log: no SDK, no exporter, no timers in this thread.
    return {
      frames: null,
      tracing: null,
      consume(seq, publishNs, acquiredNs) {
        const n = Number(seq)
        if (!table.has(n)) return null
        const context = table.read(n)
        return {
          end: () => consumeLog.write(myIndex, n, acquiredNs, process.hrtime.bigint(), Number(acquiredNs - publishNs) / 1e6),
          traceId: context?.traceId ?? '',
          spanId: context?.spanId ?? '',
        }
      },
      emitConsumeSpans: () => 0,
      shutdown: async () => undefined,
    }
  }

  const tracing = startTracing({
    threadName,
    url: config.url,
    ...(config.headers ? { headers: config.headers } : {}),
    ...(config.scheduledDelayMillis !== undefined ? { scheduledDelayMillis: config.scheduledDelayMillis } : {}),
    ...(log ? { log } : {}),
  })
  const cameraAttributes: OtelAttributes = config.camera === undefined ? {} : { 'heart.camera': config.camera }
  const frames = new FrameTracer({ tracer: tracing.tracer, table, sampleEvery: config.sampleEvery, attributes: cameraAttributes })
  const emitConsumeSpans = (): number => {
    if (!consumeLog) return 0
    return consumeLog.drain((r) => {
      const shared = table.read(r.seq)
      const name = consumers[r.consumer]
      // The frame's slot was reused (the consumer lagged 64 sampled frames) or an unknown index: no parent to hang it on.
      if (shared === null || name === undefined) return
      const parent = trace.setSpanContext(context.active(), {
        traceId: shared.traceId,
        spanId: shared.spanId,
        traceFlags: shared.traceFlags || TraceFlags.SAMPLED,
        isRemote: true,
      })
      const attributes: OtelAttributes = { ...cameraAttributes, 'heart.frame.seq': r.seq, 'heart.consumer': name, 'heart.thread': name, 'heart.queue_ms': r.queueMs }
      const span = tracing.tracer.startSpan(
        `consume ${name}`,
        { kind: SpanKind.CONSUMER, startTime: monotonicToHrTime(BigInt(Math.round(r.startNs))), attributes },
        parent,
      )
      span.end(monotonicToHrTime(BigInt(Math.round(r.endNs))))
    })
  }
  return {
    frames,
    tracing,
    consume(seq, publishNs, acquiredNs) {
      const span = frames.startConsume(threadName, seq, publishNs, acquiredNs)
      if (!span) return null
      const { traceId, spanId } = span.spanContext()
      return { end: () => span.end(), traceId, spanId }
    },
    emitConsumeSpans,
    shutdown: async (timeoutMs = OTLP_STOP_BOUND_MS) => {
      emitConsumeSpans()
      await tracing.shutdown(timeoutMs)
    },
  }
}
