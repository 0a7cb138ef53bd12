import { Worker } from 'node:worker_threads'
import type { FromWorker, Logger, ToWorker, WorkerBootstrap, WorkerMemory } from './types.js'
import { duplicateService, serviceNotFound } from './errors.js'
import { silentLogger } from './logger.js'

export interface RestartPolicy {
  /** First restart delay. */
  initialMs?: number
  /** Cap of the exponential backoff. */
  maxMs?: number
  /** A worker that ran this long without crashing starts again from initialMs. */
  resetAfterMs?: number
  /** false: never restart (one-shot services, tests). */
  enabled?: boolean
}

export interface ServiceSpec<C = unknown> {
  /** Unique name; consumers use it as their ring consumer name too. */
  name: string
  /** The worker entry file (compiled .js). */
  entry: URL
  config?: C
  /** SharedArrayBuffers the worker attaches to (rings, metrics). */
  shared?: Record<string, SharedArrayBuffer>
  restart?: RestartPolicy
  /** Nice value for this worker's thread; default the supervisor's workerNice. */
  nice?: number
  /** How often the worker reports its heap figures (default 5000 ms). */
  memoryReportMs?: number
  /** Extra resource limits for the worker. */
  resourceLimits?: ConstructorParameters<typeof Worker>[1] extends infer O ? (O extends { resourceLimits?: infer R } ? R : never) : never
}

export type ServiceState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed'

export interface CrashRecord {
  atMs: number
  reason: string
  exitCode: number | null
}

export interface ServiceStatus {
  name: string
  state: ServiceState
  threadId: number | null
  starts: number
  crashes: number
  lastCrash: CrashRecord | null
  /** Restart delay in effect if it crashes now. */
  nextBackoffMs: number
  /** The worker's heap as it last reported it (every few seconds); null before its first report in this life. */
  memory: WorkerMemory | null
}

export interface SupervisorHooks {
  /** A worker message of kind 'event'. */
  onEvent?(service: string, type: string, payload: unknown): void
  /** A worker thread is gone (crash or stop): release what it held (ring leases). */
  onThreadExit?(service: string, threadId: number): void
  /** A worker crashed; it will be restarted after backoffMs unless stopping. */
  onCrash?(service: string, crash: CrashRecord, backoffMs: number): void
}

interface Entry {
  spec: ServiceSpec
  status: ServiceStatus
  worker: Worker | null
  startedAtMs: number
  backoffMs: number
  restartTimer: NodeJS.Timeout | undefined
  crashReason: string | null
  finished: boolean
  exited: Promise<void>
}

const DEFAULT_POLICY: Required<RestartPolicy> = { initialMs: 100, maxMs: 10_000, resetAfterMs: 30_000, enabled: true }

/**
 * Runs each service in its own worker thread and keeps it running: a worker
 * that throws or exits unexpectedly is restarted with exponential backoff,
 * and why it died is kept for health. Stopping asks each worker to finish
 * (it sees an aborted signal) and terminates the ones that do not in time.
 */
export class Supervisor {
  private readonly entries = new Map<string, Entry>()
  private readonly logger: Logger
  private readonly hooks: SupervisorHooks
  private stopping = false
  private readonly workerNice: number

  /**
   * workerNice: workers run this much nicer than the main thread (Linux), so
   * the tick loop is scheduled first when the cores are busy.
   */
  constructor(hooks: SupervisorHooks = {}, logger: Logger = silentLogger, workerNice = 0) {
    this.hooks = hooks
    this.logger = logger
    this.workerNice = workerNice
  }

  start<C>(spec: ServiceSpec<C>): ServiceStatus {
    if (this.entries.has(spec.name)) throw duplicateService(spec.name)
    const policy = { ...DEFAULT_POLICY, ...spec.restart }
    const entry: Entry = {
      spec: spec as ServiceSpec,
      status: { name: spec.name, state: 'starting', threadId: null, starts: 0, crashes: 0, lastCrash: null, nextBackoffMs: policy.initialMs, memory: null },
      worker: null,
      startedAtMs: 0,
      backoffMs: policy.initialMs,
      restartTimer: undefined,
      crashReason: null,
      finished: false,
      exited: Promise.resolve(),
    }
    this.entries.set(spec.name, entry)
    this.spawn(entry)
    return { ...entry.status }
  }

  status(name: string): ServiceStatus {
    const entry = this.entries.get(name)
    if (!entry) throw serviceNotFound(name)
    return { ...entry.status, lastCrash: entry.status.lastCrash && { ...entry.status.lastCrash } }
  }

  statuses(): ServiceStatus[] {
    return [...this.entries.keys()].map((name) => this.status(name))
  }

  /** The live Worker of a service (to post app-specific messages), or null while restarting. */
  worker(name: string): Worker | null {
    return this.entries.get(name)?.worker ?? null
  }

  /** Stops one service (no restart) within timeoutMs, terminating it if it does not finish. */
  async stop(name: string, timeoutMs = 2000): Promise<void> {
    const entry = this.entries.get(name)
    if (!entry) throw serviceNotFound(name)
    await this.stopEntry(entry, timeoutMs)
    this.entries.delete(name)
  }

  /** Stops every service in parallel; resolves within about timeoutMs. */
  async stopAll(timeoutMs = 2000): Promise<void> {
    this.stopping = true
    await Promise.all([...this.entries.values()].map((e) => this.stopEntry(e, timeoutMs)))
    this.entries.clear()
    this.stopping = false
  }

  private spawn(entry: Entry): void {
    const { spec } = entry
    const bootstrap: WorkerBootstrap = { heartService: true, name: spec.name, config: spec.config ?? {}, shared: spec.shared ?? {}, nice: spec.nice ?? this.workerNice, memoryReportMs: spec.memoryReportMs }
    const worker = new Worker(spec.entry, { workerData: bootstrap, resourceLimits: spec.resourceLimits, stdout: false, stderr: false })
    const threadId = worker.threadId
    entry.worker = worker
    entry.startedAtMs = performance.now()
    entry.crashReason = null
    entry.finished = false
    entry.status.threadId = threadId
    entry.status.starts++
    entry.status.state = 'starting'
    entry.status.memory = null
    let resolveExit!: () => void
    entry.exited = new Promise((r) => (resolveExit = r))

    worker.on('message', (message: FromWorker) => {
      switch (message.kind) {
        case 'ready':
          if (entry.status.state === 'starting') entry.status.state = 'running'
          break
        case 'event':
          this.hooks.onEvent?.(spec.name, message.type, message.payload)
          break
        case 'log':
          this.logger[message.level](message.msg, { service: spec.name, ...message.fields })
          break
        case 'memory':
          entry.status.memory = message.memory
          break
        case 'stopped':
          // The service function returned: it is done, not crashed.
          entry.finished = true
          break
      }
    })
    worker.on('error', (error) => {
      entry.crashReason = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    })
    worker.on('exit', (exitCode) => {
      entry.worker = null
      entry.status.threadId = null
      this.hooks.onThreadExit?.(spec.name, threadId)
      resolveExit()
      const wanted = entry.status.state === 'stopping' || this.stopping
      if (wanted || (entry.finished && exitCode === 0 && entry.crashReason === null)) {
        entry.status.state = 'stopped'
        return
      }
      this.onCrash(entry, entry.crashReason ?? `worker exited with code ${exitCode} without being asked to stop`, exitCode)
    })
  }

  private onCrash(entry: Entry, reason: string, exitCode: number | null): void {
    const policy = { ...DEFAULT_POLICY, ...entry.spec.restart }
    const crash: CrashRecord = { atMs: performance.now(), reason, exitCode }
    entry.status.crashes++
    entry.status.lastCrash = crash
    // A worker that had been healthy for a while starts its backoff afresh.
    if (crash.atMs - entry.startedAtMs > policy.resetAfterMs) entry.backoffMs = policy.initialMs
    const delay = entry.backoffMs
    entry.backoffMs = Math.min(policy.maxMs, entry.backoffMs * 2)
    entry.status.nextBackoffMs = entry.backoffMs
    this.hooks.onCrash?.(entry.spec.name, crash, delay)
    if (!policy.enabled) {
      entry.status.state = 'failed'
      this.logger.error('service crashed; restart disabled', { service: entry.spec.name, reason })
      return
    }
    entry.status.state = 'restarting'
    this.logger.error('service crashed; restarting', { service: entry.spec.name, reason, restart_in_ms: delay })
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined
      if (entry.status.state === 'restarting') this.spawn(entry)
    }, delay)
  }

  private async stopEntry(entry: Entry, timeoutMs: number): Promise<void> {
    if (entry.restartTimer) clearTimeout(entry.restartTimer)
    entry.restartTimer = undefined
    const worker = entry.worker
    entry.status.state = 'stopping'
    if (!worker) {
      entry.status.state = 'stopped'
      return
    }
    const stop: ToWorker = { kind: 'stop' }
    worker.postMessage(stop)
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))
    const result = await Promise.race([entry.exited.then(() => 'exited' as const), timedOut])
    clearTimeout(timer)
    if (result === 'timeout') {
      this.logger.warn('service did not stop in time; terminating it', { service: entry.spec.name, timeout_ms: timeoutMs })
      await worker.terminate()
      await entry.exited
    }
    entry.status.state = 'stopped'
  }
}
