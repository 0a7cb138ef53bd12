// Error factories: every failure names what happened and what to do about it.

import { CodedError, type TelemetryErrorCode } from '@heart/contracts'

export class TelemetryError extends CodedError<TelemetryErrorCode> {}

export function badMetricsBuffer(why: string): TelemetryError {
  return new TelemetryError(
    'METRICS_BUFFER',
    `metrics buffer rejected: ${why}. Pass the registry's own buffer (registry.buffer from MetricsRegistry.create in the main thread) to attach().`,
  )
}

export function catalogueMismatch(expected: number, found: number): TelemetryError {
  return new TelemetryError(
    'METRICS_CATALOGUE',
    `metrics catalogue mismatch: the buffer was laid out for catalogue hash 0x${found.toString(16)} but this thread declared 0x${expected.toString(16)}. ` +
      'Every thread must build the same catalogue (same metrics, attribute values and order); pass the main thread catalogue to the worker in its config.',
  )
}

export function badCatalogue(why: string): TelemetryError {
  return new TelemetryError('METRICS_DECLARATION', `invalid metrics catalogue: ${why}`)
}

export function unknownMetric(name: string, known: readonly string[]): TelemetryError {
  return new TelemetryError(
    'METRIC_UNKNOWN',
    `no metric named "${name}" in the catalogue; declared metrics are: ${known.join(', ')}. Add it to the catalogue that MetricsRegistry.create() received.`,
  )
}

export function wrongKind(name: string, declared: string, asked: string): TelemetryError {
  return new TelemetryError(
    'METRIC_KIND',
    `metric "${name}" is declared as a ${declared}, not a ${asked}; call registry.${declared}("${name}", ...) instead.`,
  )
}

export function badAttributes(name: string, why: string): TelemetryError {
  return new TelemetryError('METRIC_ATTRIBUTES', `metric "${name}": ${why}`)
}

export function badHistogramOptions(why: string): TelemetryError {
  return new TelemetryError('HISTOGRAM_OPTIONS', `invalid histogram options: ${why}`)
}

export function badHistogramMemory(why: string): TelemetryError {
  return new TelemetryError('HISTOGRAM_MEMORY', `histogram memory rejected: ${why}`)
}

export function badCounterIncrement(n: number): TelemetryError {
  return new TelemetryError(
    'COUNTER_INCREMENT',
    `counter increments must be whole numbers from 0 to 2^53-1, got ${n}; counters only go up (use a gauge for values that go down).`,
  )
}

export function incompatibleSnapshots(why: string): TelemetryError {
  return new TelemetryError('HISTOGRAM_SNAPSHOT', `cannot combine histogram snapshots: ${why}`)
}

export function badTraceTable(why: string): TelemetryError {
  return new TelemetryError('TRACE_TABLE', `trace table rejected: ${why}. Pass the buffer of the TraceTable the main thread created.`)
}

export function badTracingOptions(why: string): TelemetryError {
  return new TelemetryError('TRACING_OPTIONS', `invalid tracing options: ${why}`)
}

export function badTelemetryConfig(problems: readonly string[]): TelemetryError {
  return new TelemetryError('TELEMETRY_CONFIG', `${problems.join('; ')}. See docs/telemetry.md ("Configuration").`)
}

export function badConsumeLog(why: string): TelemetryError {
  return new TelemetryError('CONSUME_LOG', `consume log rejected: ${why}. Pass the buffer of the ConsumeLog the main thread created.`)
}

export function badSourceLabels(why: string): TelemetryError {
  return new TelemetryError('METRIC_ATTRIBUTES', `metrics source rejected: ${why}`)
}

export function mismatchedDeclarations(name: string, why: string): TelemetryError {
  return new TelemetryError(
    'METRICS_DECLARATION',
    `metric "${name}" is declared differently by two registries of one metrics source (${why}); a name exported together is one family, so every registry must declare it the same way (its attribute values may differ).`,
  )
}
