// Structured JSON logs (pino) that carry trace ids, so a log line about a
// sampled frame can be found from its trace and the other way round.

import { pino, type Logger, type DestinationStream, type LoggerOptions } from 'pino'
import pinoPretty from 'pino-pretty'
import { trace, context } from '@opentelemetry/api'

export interface LoggerConfig {
  name?: string
  level?: LoggerOptions['level']
  /** Where lines go; default stdout. */
  destination?: DestinationStream
  /** Fields on every line, e.g. { thread: 'capture' }. */
  base?: Record<string, unknown>
  /** `"level":"info"` instead of pino's numbers (heart's other log lines use words). Default false. */
  levelLabels?: boolean
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
      ...(config.levelLabels ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
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

/** heart's logger shape (the kernel's `Logger`): message first, fields second. */
export interface FieldLogger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(base: Record<string, unknown>): FieldLogger
}

/**
 * createLogger() behind heart's (msg, fields) logger interface, writing to
 * stderr by default so stdout stays free for the status line. Lines carry
 * trace_id/span_id when a span is active.
 */
export function createFieldLogger(config: LoggerConfig & { pretty?: { colour: boolean } } = {}): FieldLogger {
  // On a terminal a person reads the lines: one readable line each (pino-pretty); elsewhere JSON for journald and scripts.
  const destination =
    config.destination ??
    (config.pretty
      ? pinoPretty({ colorize: config.pretty.colour, singleLine: true, sync: true, destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name,app' })
      : pino.destination({ fd: 2, sync: true }))
  return wrap(createLogger({ levelLabels: true, ...config, destination }))
}

function wrap(log: Logger): FieldLogger {
  return {
    debug: (msg, fields) => log.debug(fields ?? {}, msg),
    info: (msg, fields) => log.info(fields ?? {}, msg),
    warn: (msg, fields) => log.warn(fields ?? {}, msg),
    error: (msg, fields) => log.error(fields ?? {}, msg),
    child: (base) => wrap(log.child(base)),
  }
}
