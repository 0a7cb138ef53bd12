import { getHeapStatistics } from 'node:v8'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import type { FromWorker, LogLevel, Logger, ToWorker, WorkerBootstrap } from './types.js'
import { notInWorker } from './errors.js'
import { currentThreadTid, nameCurrentThread, setThreadNice } from './thread-priority.js'

/** What a service's function receives inside its worker. */
export interface ServiceContext<C> {
  name: string
  config: C
  shared: Record<string, SharedArrayBuffer>
  /** Aborted when the kernel asks the service to stop: return promptly (well under a second). */
  signal: AbortSignal
  /** Queues an event on the main thread (low rate only: never per-pixel data). */
  emit(type: string, payload: unknown): void
  log: Logger
}

function post(message: FromWorker): void {
  parentPort!.postMessage(message)
}

/**
 * The worker side of a supervised service. Call it once from the worker's
 * entry file. When fn returns, the worker ends normally; when it throws, the
 * worker crashes and the supervisor records why and restarts it.
 */
export function serveWorker<C>(fn: (ctx: ServiceContext<C>) => Promise<void> | void): void {
  const boot = workerData as WorkerBootstrap<C> | undefined
  if (isMainThread || !parentPort || !boot || boot.heartService !== true) throw notInWorker()
  const controller = new AbortController()
  parentPort.on('message', (message: ToWorker) => {
    if (message?.kind === 'stop') controller.abort()
  })
  // Fields every log line carries while they are set: the trace of the
  // sampled frame being worked on, so a log line can be found from its trace.
  const log = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) =>
    post({ kind: 'log', level, msg, fields: sanitize(currentLogFields ? { ...currentLogFields, ...fields } : fields) })
  const ctx: ServiceContext<C> = {
    name: boot.name,
    config: boot.config,
    shared: boot.shared,
    signal: controller.signal,
    emit: (type, payload) => post({ kind: 'event', type, payload }),
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
  }
  if (boot.nice) {
    const result = setThreadNice(boot.nice)
    if ('skipped' in result) ctx.log.debug('thread priority left as is', { nice: boot.nice, reason: result.skipped })
  }
  // The OS thread carries the service's name (top -H, the cpu bench's breakdown), and says its id for /health's cpu_percent.
  nameCurrentThread(boot.name)
  post({ kind: 'ready', tid: currentThreadTid() })
  reportMemory()
  // A few numbers every few seconds, so /health can say which worker's heap
  // grows; unref'd: it never keeps a finished worker alive.
  setInterval(reportMemory, boot.memoryReportMs ?? MEMORY_REPORT_MS).unref()
  Promise.resolve()
    .then(() => fn(ctx))
    .then(
      () => {
        post({ kind: 'stopped' })
        // The port would keep the worker alive; the service is done.
        parentPort!.close()
      },
      (error: unknown) => {
        // Rethrow outside the promise chain: an uncaught exception ends the
        // worker with an 'error' event carrying this error to the supervisor.
        setImmediate(() => {
          throw error
        })
      },
    )
}

/** How often a worker reports its heap figures to the supervisor, unless its spec says otherwise. */
export const MEMORY_REPORT_MS = 5000

function reportMemory(): void {
  const h = getHeapStatistics()
  post({ kind: 'memory', memory: { heapUsedBytes: h.used_heap_size, heapTotalBytes: h.total_heap_size } })
}

let currentLogFields: Record<string, unknown> | null = null

/** Sets (or clears, with null) fields added to every log line of this worker. */
export function setWorkerLogFields(fields: Record<string, unknown> | null): void {
  currentLogFields = fields
}

/** Makes log fields structured-clone safe (errors become plain objects). */
function sanitize(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!fields) return fields
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { message: v.message, code: (v as { code?: unknown }).code } : typeof v === 'bigint' ? v.toString() : v
  }
  return out
}
