// Frame-journey tracing. 1 in N frames is sampled by the capture worker: when
// it publishes such a frame it records the spans of the frame's way in
// (receive, decode, publish) under a root `frame` span, and writes the root's
// context into a shared TraceTable keyed by seq. Consumers in other threads
// look their frame's seq up and parent their `consume` span on it, so one
// trace spans every thread without any per-frame message.
//
// Each thread exports its own spans over OTLP/HTTP; the backend joins them by
// trace id. Unsampled frames cost one modulo (producer) or one atomic load
// (consumer) and allocate nothing.

import { hostname } from 'node:os'
import { trace, context, TraceFlags, SpanKind, type Tracer, type Span, type Attributes as OtelAttributes } from '@opentelemetry/api'
import { TracerProvider, BatchSpanProcessor, AlwaysOnSampler, type SpanExporter } from '@opentelemetry/sdk-trace'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { monotonicToHrTime } from './clock.js'
import { TraceTable } from './trace-table.js'
import { badTracingOptions } from './errors.js'
import { ExportHealth, OTLP_EXPORT_TIMEOUT_MS, SDK_EXPORT_BACKSTOP_MS, boundedShutdown, type ExportLog } from './otlp-export.js'

export const DEFAULT_OTLP_TRACES_URL = 'http://127.0.0.1:4318/v1/traces'
export const TRACER_NAME = '@heart/telemetry'

export interface TracingOptions {
  /** service.name resource attribute. Default "heart". */
  serviceName?: string
  /** Which thread exports (heart.thread resource attribute): "main", "capture", "motion"... */
  threadName?: string
  /** OTLP/HTTP traces endpoint. Default DEFAULT_OTLP_TRACES_URL (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  url?: string
  headers?: Record<string, string>
  /** Use this exporter instead of OTLP/HTTP (tests, console). */
  exporter?: SpanExporter
  /** How long spans wait in the batch before export. Default 1000 ms. */
  scheduledDelayMillis?: number
  /** Install an AsyncLocalStorage context manager globally, so pino logs see the active span. Default false. */
  registerContextManager?: boolean
  resourceAttributes?: OtelAttributes
  /** Where the one warning about an unreachable collector (and its recovery) goes. Default stderr. */
  log?: ExportLog
}

export interface TracingHandle {
  tracer: Tracer
  provider: TracerProvider
  /** Whether the last export failed (the warning has been logged). */
  readonly failing: boolean
  forceFlush(): Promise<void>
  /** Exports what is batched, then stops; never longer than boundMs (default OTLP_STOP_BOUND_MS), and no export at all while the collector is down. */
  shutdown(boundMs?: number): Promise<void>
}

export function startTracing(options: TracingOptions = {}): TracingHandle {
  const url = options.url ?? process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? DEFAULT_OTLP_TRACES_URL
  const thread = options.threadName ?? 'main'
  const health = new ExportHealth({
    signal: `traces (${thread} thread)`,
    url,
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.log ? { log: options.log } : {}),
  })
  const exporter = health.watch(options.exporter ?? new OTLPTraceExporter({ url, headers: options.headers, timeoutMillis: OTLP_EXPORT_TIMEOUT_MS }))
  const provider = new TracerProvider({
    // Sampling is decided per frame by FrameTracer (1 in N by seq), so every
    // span that gets created is kept.
    sampler: new AlwaysOnSampler(),
    resource: resourceFromAttributes({
      'service.name': options.serviceName ?? 'heart',
      // Which box: a fleet sends every heart to one collector.
      'service.instance.id': hostname(),
      'heart.thread': thread,
      ...options.resourceAttributes,
    }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: options.scheduledDelayMillis ?? 1000, exportTimeoutMillis: SDK_EXPORT_BACKSTOP_MS })],
  })
  if (options.registerContextManager) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  }
  return {
    tracer: provider.getTracer(TRACER_NAME),
    provider,
    get failing() {
      return health.isFailing
    },
    forceFlush: () => provider.forceFlush(),
    shutdown: (boundMs) => boundedShutdown(health, () => provider.shutdown(), boundMs),
  }
}

export interface FrameTracerOptions {
  tracer: Tracer
  table: TraceTable
  /** Sample frames whose seq is a multiple of this (1 = every frame). Producer side only. Default 60. */
  sampleEvery?: number
  /** Added to every span, e.g. { 'heart.camera': 'front' }. Never put credentials here. */
  attributes?: OtelAttributes
}

export class FrameTracer {
  readonly sampleEvery: number
  private readonly tracer: Tracer
  private readonly table: TraceTable
  private readonly attributes: OtelAttributes

  constructor(options: FrameTracerOptions) {
    const every = options.sampleEvery ?? 60
    if (!Number.isInteger(every) || every < 1) throw badTracingOptions(`sampleEvery must be a whole number >= 1, got ${every}`)
    this.sampleEvery = every
    this.tracer = options.tracer
    this.table = options.table
    this.attributes = options.attributes ?? {}
  }

  /** Whether the producer samples frame `seq`. */
  isSampled(seq: number | bigint): boolean {
    return toNumber(seq) % this.sampleEvery === 0
  }

  /**
   * Producer, right after committing frame `seq`: records its journey if it is
   * sampled and shares the trace context. All stamps are CLOCK_MONOTONIC ns.
   * receive: packet received; decodeStart/decodeEnd: decoder call; publish: commit done.
   * Returns the root span's context (for log correlation) or null when not sampled.
   */
  framePublished(
    seq: number | bigint,
    receiveNs: bigint,
    decodeStartNs: bigint,
    decodeEndNs: bigint,
    publishNs: bigint,
  ): { traceId: string; spanId: string } | null {
    const n = toNumber(seq)
    if (n % this.sampleEvery !== 0) return null
    const attributes = { ...this.attributes, 'heart.frame.seq': n }
    const root = this.tracer.startSpan('frame', { kind: SpanKind.PRODUCER, startTime: monotonicToHrTime(receiveNs), attributes })
    const parent = trace.setSpan(context.active(), root)
    this.child(parent, 'receive', receiveNs, decodeStartNs, attributes)
    this.child(parent, 'decode', decodeStartNs, decodeEndNs, attributes)
    this.child(parent, 'publish', decodeEndNs, publishNs, attributes)
    root.end(monotonicToHrTime(publishNs))
    const ctx = root.spanContext()
    this.table.write(n, ctx.traceId, ctx.spanId, ctx.traceFlags)
    return { traceId: ctx.traceId, spanId: ctx.spanId }
  }

  /**
   * Consumer, when it acquires frame `seq`: a `consume <consumer>` span under
   * the frame's root span, or null if the frame is not sampled. End it (span.end())
   * when the work is done. `publishNs` (from the lease) adds the queue wait.
   */
  startConsume(consumer: string, seq: number | bigint, publishNs?: bigint, startNs?: bigint): Span | null {
    const n = toNumber(seq)
    if (!this.table.has(n)) return null
    const shared = this.table.read(n)
    if (shared === null) return null
    const parent = trace.setSpanContext(context.active(), {
      traceId: shared.traceId,
      spanId: shared.spanId,
      traceFlags: shared.traceFlags || TraceFlags.SAMPLED,
      isRemote: true,
    })
    const start = startNs ?? process.hrtime.bigint()
    const attributes: OtelAttributes = { ...this.attributes, 'heart.frame.seq': n, 'heart.consumer': consumer }
    if (publishNs !== undefined) attributes['heart.queue_ms'] = Number(start - publishNs) / 1e6
    return this.tracer.startSpan(`consume ${consumer}`, { kind: SpanKind.CONSUMER, startTime: monotonicToHrTime(start), attributes }, parent)
  }

  private child(parent: ReturnType<typeof context.active>, name: string, startNs: bigint, endNs: bigint, attributes: OtelAttributes): void {
    const span = this.tracer.startSpan(name, { startTime: monotonicToHrTime(startNs), attributes }, parent)
    span.end(monotonicToHrTime(endNs))
  }
}

function toNumber(seq: number | bigint): number {
  // Exact below 2^53 frames: 4.7 million years at 60 FPS.
  return typeof seq === 'bigint' ? Number(seq) : seq
}
