// Structured JSON logs (pino) that carry trace ids, so a log line about a
// sampled frame can be found from its trace and the other way round.

import { pino, type Logger, type DestinationStream, type LoggerOptions } from 'pino'
import { trace, context } from '@opentelemetry/api'

export interface LoggerConfig {
  name?: string
  level?: LoggerOptions['level']
  /** Where lines go; default stdout. */
  destination?: DestinationStream
  /** Fields on every line, e.g. { thread: 'capture' }. */
  base?: Record<string, unknown>
}

/** Field names follow the OpenTelemetry log data model's JSON mapping. */
export interface TraceFields {
  trace_id: string
  span_id: string
  trace_flags: string
}

/** Trace fields of a span context, e.g. the one FrameTracer.framePublished returns. */
export function traceFields(ctx: { traceId: string; spanId: string; traceFlags?: number }): TraceFields {
  return { trace_id: ctx.traceId, span_id: ctx.spanId, trace_flags: (ctx.traceFlags ?? 1).toString(16).padStart(2, '0') }
}

/**
 * A pino logger whose lines gain trace_id/span_id whenever a span is active
 * (needs startTracing({ registerContextManager: true }) for async code), and
 * which can be bound to a frame explicitly: logger.child(traceFields(ctx)).
 */
export function createLogger(config: LoggerConfig = {}): Logger {
  return pino(
    {
      name: config.name ?? 'heart',
      level: config.level ?? 'info',
      base: { pid: process.pid, ...config.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin() {
        const span = trace.getSpan(context.active())
        if (span === undefined) return {}
        const ctx = span.spanContext()
        return traceFields(ctx)
      },
    },
    config.destination,
  )
}
