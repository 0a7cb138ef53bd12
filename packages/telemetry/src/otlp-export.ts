// What every OTLP exporter in heart shares: a bounded request, a bounded stop,
// and one warning when the collector cannot be reached (not one per export
// interval, and nothing from OpenTelemetry's own diag logger, which heart
// never enables).

import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import type { FieldLogger } from './logging.js'

/**
 * The whole of one export, retries included (the OTLP exporter gives up once
 * its next retry would land past this). A collector answers in milliseconds,
 * and a request that is still open when heart stops keeps the thread alive
 * until this runs out: the capture worker must be gone within the
 * supervisor's stop timeout (2 s by default), so this stays well below it.
 */
export const OTLP_EXPORT_TIMEOUT_MS = 1000

/**
 * The SDK's own timer around an export (the reader's, the span batcher's;
 * 30 s by default). The OTLP exporter ends well before it; for any other
 * exporter it is the backstop, and a pending timer would keep a stopped
 * thread alive as long.
 */
export const SDK_EXPORT_BACKSTOP_MS = 2 * OTLP_EXPORT_TIMEOUT_MS

/**
 * The most a stop waits for the last push (metrics, or a thread's spans).
 * A reachable collector takes a few ms; past this the data is given up
 * rather than delaying the exit.
 */
export const OTLP_STOP_BOUND_MS = 1000

/** The two calls ExportHealth makes: heart's (msg, fields) logger, a worker's ctx.log. */
export type ExportLog = Pick<FieldLogger, 'warn' | 'info'>

/**
 * The endpoint as it may be logged: scheme, host, port and path. User info
 * and the query are dropped (either may carry a token); header values are
 * never looked at.
 */
export function loggableEndpoint(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
  } catch {
    return '(not a URL)'
  }
}

/** Why an export failed, in a few words: an OS error code, an HTTP status, or the message (cut short). */
export function exportFailure(error: unknown): string {
  if (error === undefined || error === null) return 'unknown error'
  const e = error as { code?: unknown; message?: unknown }
  if (typeof e.code === 'string') return e.code
  // OTLPExporterError: code is the HTTP status. Its `data` (the response body) is never logged.
  if (typeof e.code === 'number') return `HTTP ${e.code}${typeof e.message === 'string' && e.message ? ` ${e.message}` : ''}`.slice(0, 200)
  const message = typeof e.message === 'string' ? e.message : String(error)
  // The OTLP HTTP transport's words for a collector that accepted the connection and never answered.
  if (message === 'Request timed out') return `no answer within ${OTLP_EXPORT_TIMEOUT_MS} ms`
  return message.slice(0, 200)
}

export interface ExportHealthOptions {
  /** 'metrics' or 'traces' (with the thread, for spans: 'traces from capture'). */
  signal: string
  /** Where the data goes (logged without credentials). */
  url: string
  /** Names only are logged, to tell whether an Authorization header was set. */
  headers?: Record<string, string>
  log?: ExportLog
}

/**
 * One exporter's standing: warns once when exports start failing, says once
 * when they work again, and tells a stopping exporter to give up at once on
 * a collector that is known to be down.
 */
export class ExportHealth {
  private failing = false
  private stopping = false
  private readonly fields: Record<string, unknown>

  constructor(private readonly options: ExportHealthOptions) {
    const headerNames = Object.keys(options.headers ?? {})
    this.fields = { signal: options.signal, endpoint: loggableEndpoint(options.url), ...(headerNames.length > 0 ? { headers: headerNames } : {}) }
  }

  get isFailing(): boolean {
    return this.failing
  }

  /** From now on an export to a failing collector is not even tried. */
  stop(): void {
    this.stopping = true
  }

  /** Whether an export should be skipped: stopping, and the last one failed. */
  get skipsExports(): boolean {
    return this.stopping && this.failing
  }

  succeeded(): void {
    if (!this.failing) return
    this.failing = false
    this.log().info(`OTLP ${this.options.signal} export works again`, this.fields)
  }

  failed(error: unknown): void {
    if (this.failing) return
    this.failing = true
    const why = exportFailure(error)
    this.log().warn(
      `OTLP ${this.options.signal} export to ${this.fields['endpoint']} failed (${why}); heart keeps running and keeps trying, and says so here once it works again. ` +
        'Check that the collector is running and reachable from this machine, or fix or remove telemetry.otlp.endpoint (telemetry.traces.endpoint for spans) in the config.',
      { ...this.fields, error: why },
    )
  }

  private log(): ExportLog {
    return this.options.log ?? consoleLog
  }

  /**
   * Wraps an OTLP exporter (spans or metrics): every result is reported
   * here, and a stopping exporter whose collector is down fails at once
   * instead of opening one more request that would hold the exit.
   * The wrapper inherits everything else (aggregation choices, flush).
   */
  watch<E extends WatchableExporter>(inner: E): E {
    const watched = Object.create(inner) as E
    watched.export = (items, done) => {
      if (this.skipsExports) {
        done({ code: ExportResultCode.FAILED, error: new Error('collector unreachable; not tried while stopping') })
        return
      }
      inner.export(items, (result: ExportResult) => {
        if (result.code === ExportResultCode.SUCCESS) this.succeeded()
        else this.failed(result.error)
        done(result)
      })
    }
    return watched
  }
}

/** What ExportHealth.watch needs of a SpanExporter or PushMetricExporter. */
export interface WatchableExporter {
  // The SDK types `items` per signal; the wrapper only passes it on.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export(items: any, done: (result: ExportResult) => void): void
}

// Embedders that pass no logger still get the one line, on stderr (stdout may carry heart's status lines).
const consoleLog: ExportLog = {
  warn: (msg, fields) => console.error(msg, JSON.stringify(fields ?? {})),
  info: (msg, fields) => console.error(msg, JSON.stringify(fields ?? {})),
}

/**
 * Stops an SDK provider, waiting at most OTLP_STOP_BOUND_MS: the provider's
 * own shutdown flushes over the network, and a collector that accepts the
 * connection but never answers would otherwise hold the stop.
 */
export async function boundedShutdown(health: ExportHealth, shutdown: () => Promise<void>, boundMs = OTLP_STOP_BOUND_MS): Promise<void> {
  health.stop()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, boundMs)
    timer.unref()
  })
  try {
    await Promise.race([shutdown().catch(() => undefined), late])
  } finally {
    clearTimeout(timer)
  }
}
