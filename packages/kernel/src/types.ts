// The route shape lives in @heart/contracts; re-exported so kernel users need one import.
export type { HttpRoute } from '@heart/contracts'
// The codes consumers and their supervision report, for packages that depend on the kernel only.
export type { VerifyProblem, WorkerExitReason } from '@heart/contracts'

/** A typed event on the main thread's queue. */
export interface KernelEvent<P = unknown> {
  type: string
  /** Who emitted it: a service name, or "kernel". */
  source: string
  /** CLOCK_MONOTONIC ms when it was queued. */
  atMs: number
  payload: P
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

// Messages between the supervisor and a worker (structured-cloned).
export type ToWorker = { kind: 'stop' }
export type FromWorker =
  /** tid: its OS thread id (Linux), so the main thread can read the thread's CPU time; null elsewhere. */
  | { kind: 'ready'; tid?: number | null }
  | { kind: 'event'; type: string; payload: unknown }
  | { kind: 'log'; level: LogLevel; msg: string; fields?: Record<string, unknown> }
  | { kind: 'stopped' }
  | { kind: 'memory'; memory: WorkerMemory }

/** A worker's own JavaScript heap (each worker thread has its own V8 isolate), as it last reported it. */
export interface WorkerMemory {
  /** Bytes of live objects and garbage not yet collected. */
  heapUsedBytes: number
  /** Bytes V8 has reserved for the heap (what the thread adds to the process RSS). */
  heapTotalBytes: number
}

/** What a worker receives as workerData. */
export interface WorkerBootstrap<C = unknown> {
  heartService: true
  name: string
  config: C
  shared: Record<string, SharedArrayBuffer>
  /** Nice value for the worker's thread (0: leave it). */
  nice?: number
  /** How often the worker reports its heap figures (default MEMORY_REPORT_MS). */
  memoryReportMs?: number
}
