import { Worker } from 'node:worker_threads'
import type { WorkerExitReason } from '@heart/contracts'
import type { FromWorker, Logger, ToWorker, WorkerBootstrap, WorkerMemory } from './types.js'
import { duplicateService, serviceNotFound } from './errors.js'
import { silentLogger } from './logger.js'
import { stallText, type ProgressWatch } from './watchdog.js'

/** V8 heap limits of a worker thread (Node's `resourceLimits`); a worker that exceeds them ends with `out_of_memory`. */
export interface WorkerResourceLimits {
  maxOldGenerationSizeMb?: number
  maxYoungGenerationSizeMb?: number
  codeRangeSizeMb?: number
  stackSizeMb?: number
}

/**
 * The limits that hold a value: a config's absent limit is undefined, and
 * spreading it over a default would erase the default.
 */
export function definedLimits(limits: WorkerResourceLimits | undefined): WorkerResourceLimits {
  return limits ? (Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as WorkerResourceLimits) : {}
}

export interface SupervisorOptions {
  /** Workers run this much nicer than the main thread (Linux), so the tick loop is scheduled first when the cores are busy. */
  workerNice?: number
  /** Limits of every worker whose spec names none (docs/configuration.md, supervisor.resourceLimits). */
  resourceLimits?: WorkerResourceLimits
  /**
   * Staggered first starts: a service's worker is spawned only once the one
   * started before it has loaded its code (posted ready) and this many more
   * ms have passed (START_WAIT_MAX_MS at most), so the workers do not all
   * load, compile and warm up in one burst that starves the main thread's
   * first ticks. 0 (the default): spawn at once. Restarts are never held back.
   */
  startSpacingMs?: number
}

/** The longest a first start waits for the worker started before it to load. */
export const START_WAIT_MAX_MS = 1000

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
  /** Resource limits for the worker, over the supervisor's defaults. */
  resourceLimits?: WorkerResourceLimits
  /**
   * The consumer watchdog (watchdog.ts): checked every tick while the worker
   * runs; a stall terminates it and it restarts with reason `stalled`.
   */
  watchdog?: ProgressWatch
  /** The camera the service works for (its capture, consumers, recorder, live muxer): every log line of it says `camera`. */
  camera?: string
}

/** The fields that say whose a log line is: the service, and its camera where it has one. */
function serviceFields(spec: Pick<ServiceSpec, 'name' | 'camera'>): { service: string; camera?: string } {
  return spec.camera === undefined ? { service: spec.name } : { service: spec.name, camera: spec.camera }
}

/** `stalled`: the watchdog found it stuck and is terminating it (then `restarting`). */
export type ServiceState = 'starting' | 'running' | 'stalled' | 'restarting' | 'stopping' | 'stopped' | 'failed'

export interface CrashRecord {
  atMs: number
  /** The reason code (WORKER_EXIT_REASONS in @heart/contracts). */
  code: WorkerExitReason
  /** In words: the error, the exit code, or what the watchdog saw. */
  reason: string
  exitCode: number | null
}

/** Crashes in a row, each after a life shorter than resetAfterMs, from which a service counts as crash-looping. */
export const CRASH_LOOP_AFTER = 3

export interface ServiceStatus {
  name: string
  state: ServiceState
  threadId: number | null
  /** The OS thread id (Linux) the worker reported when ready; null before then, between lives and elsewhere. */
  tid: number | null
  starts: number
  crashes: number
  lastCrash: CrashRecord | null
  /** Restart delay in effect if it crashes now. */
  nextBackoffMs: number
  /** The worker's heap as it last reported it (every few seconds); null before its first report in this life. */
  memory: WorkerMemory | null
  /** Crashes in a row, each after a short life (reset by a life longer than resetAfterMs). */
  crashesInARow: number
  /** crashesInARow reached CRASH_LOOP_AFTER: it keeps dying shortly after each start. */
  crashLooping: boolean
  /** With a watchdog: how long its queued frames have waited with none finished (0 while it keeps up), and the limit. */
  stalledForMs?: number
  stallMs?: number
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
  crashCode: WorkerExitReason | null
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
  private readonly resourceLimits: WorkerResourceLimits
  /** Entries with a watchdog, in an array so the per-tick check allocates nothing. */
  private watched: Entry[] = []
  private readonly startSpacingMs: number
  /** First starts waiting their turn (startSpacingMs), and the one whose turn it is. */
  private readonly startQueue: Entry[] = []
  private launching: Entry | null = null
  private launchTimer: NodeJS.Timeout | undefined

  constructor(hooks: SupervisorHooks = {}, logger: Logger = silentLogger, options: SupervisorOptions = {}) {
    this.hooks = hooks
    this.logger = logger
    this.workerNice = options.workerNice ?? 0
    this.resourceLimits = definedLimits(options.resourceLimits)
    this.startSpacingMs = options.startSpacingMs ?? 0
  }

  /**
   * The watchdog pass, from the main loop's tick: a few Atomics loads per
   * watched worker. A consumer that stalled is terminated; its exit restarts
   * it under the usual backoff with reason `stalled`.
   */
  tick(nowMs: number = performance.now()): void {
    const watched = this.watched
    for (let i = 0; i < watched.length; i++) {
      const entry = watched[i]!
      if (entry.status.state !== 'running' || !entry.worker) continue
      const verdict = entry.spec.watchdog!.check(nowMs)
      if (verdict) this.terminateStalled(entry, stallText(verdict))
    }
  }

  start<C>(spec: ServiceSpec<C>): ServiceStatus {
    if (this.entries.has(spec.name)) throw duplicateService(spec.name)
    const policy = { ...DEFAULT_POLICY, ...spec.restart }
    const entry: Entry = {
      spec: spec as ServiceSpec,
      status: {
        name: spec.name,
        state: 'starting',
        threadId: null,
        tid: null,
        starts: 0,
        crashes: 0,
        lastCrash: null,
        nextBackoffMs: policy.initialMs,
        memory: null,
        crashesInARow: 0,
        crashLooping: false,
      },
      worker: null,
      startedAtMs: 0,
      backoffMs: policy.initialMs,
      restartTimer: undefined,
      crashReason: null,
      crashCode: null,
      finished: false,
      exited: Promise.resolve(),
    }
    this.entries.set(spec.name, entry)
    if (spec.watchdog) this.watched.push(entry)
    if (this.startSpacingMs > 0) {
      this.startQueue.push(entry)
      this.launchNext()
    } else {
      this.spawn(entry)
    }
    return { ...entry.status }
  }

  /** Spawns the next first start in the queue unless one is still loading. */
  private launchNext(): void {
    if (this.launching) return
    let entry: Entry | undefined
    // One stopped (or replaced) while it waited is skipped.
    while ((entry = this.startQueue.shift()) && !(entry.status.state === 'starting' && this.entries.get(entry.spec.name) === entry));
    if (!entry) return
    this.launching = entry
    this.launchAfter(entry, START_WAIT_MAX_MS)
    this.spawn(entry)
  }

  /** The next first start may go `ms` from now (the timer keeps nothing alive). */
  private launchAfter(entry: Entry, ms: number): void {
    clearTimeout(this.launchTimer)
    this.launchTimer = setTimeout(() => this.launched(entry), ms)
    this.launchTimer.unref()
  }

  private launched(entry: Entry): void {
    if (this.launching !== entry) return
    clearTimeout(this.launchTimer)
    this.launching = null
    this.launchNext()
  }

  status(name: string): ServiceStatus {
    const entry = this.entries.get(name)
    if (!entry) throw serviceNotFound(name)
    const status: ServiceStatus = { ...entry.status, lastCrash: entry.status.lastCrash && { ...entry.status.lastCrash } }
    const watchdog = entry.spec.watchdog
    if (watchdog) {
      status.stallMs = watchdog.stallMs
      status.stalledForMs = entry.status.state === 'running' ? watchdog.stalledForMs(performance.now()) : 0
    }
    return status
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
    this.watched = this.watched.filter((e) => e !== entry)
  }

  /** Stops every service in parallel; resolves within about timeoutMs. */
  async stopAll(timeoutMs = 2000): Promise<void> {
    this.stopping = true
    // Nothing waiting for its first start starts now.
    this.startQueue.length = 0
    clearTimeout(this.launchTimer)
    this.launching = null
    await Promise.all([...this.entries.values()].map((e) => this.stopEntry(e, timeoutMs)))
    this.entries.clear()
    this.watched = []
    this.stopping = false
  }

  private spawn(entry: Entry): void {
    const { spec } = entry
    const bootstrap: WorkerBootstrap = { heartService: true, name: spec.name, config: spec.config ?? {}, shared: spec.shared ?? {}, nice: spec.nice ?? this.workerNice, memoryReportMs: spec.memoryReportMs }
    const resourceLimits = { ...this.resourceLimits, ...definedLimits(spec.resourceLimits) }
    const worker = new Worker(spec.entry, { workerData: bootstrap, resourceLimits, stdout: false, stderr: false, name: spec.name })
    const threadId = worker.threadId
    entry.worker = worker
    entry.startedAtMs = performance.now()
    entry.crashReason = null
    entry.crashCode = null
    entry.finished = false
    spec.watchdog?.reset(entry.startedAtMs)
    entry.status.threadId = threadId
    entry.status.tid = null
    entry.status.starts++
    entry.status.state = 'starting'
    entry.status.memory = null
    let resolveExit!: () => void
    entry.exited = new Promise((r) => (resolveExit = r))

    worker.on('message', (message: FromWorker) => {
      switch (message.kind) {
        case 'ready':
          entry.status.tid = message.tid ?? null
          if (entry.status.state === 'starting') entry.status.state = 'running'
          if (this.launching === entry) this.launchAfter(entry, this.startSpacingMs)
          break
        case 'event':
          this.hooks.onEvent?.(spec.name, message.type, message.payload)
          break
        case 'log':
          this.logger[message.level](message.msg, { ...serviceFields(spec), ...message.fields })
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
      // A watchdog verdict stands: terminating a stalled worker is not its own error.
      if (entry.crashCode === 'stalled') return
      const outOfMemory = (error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY'
      entry.crashCode = outOfMemory ? 'out_of_memory' : 'error'
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      entry.crashReason = outOfMemory ? `out_of_memory: ${text} (limits ${JSON.stringify(resourceLimits)})` : text
    })
    worker.on('exit', (exitCode) => {
      entry.worker = null
      entry.status.threadId = null
      entry.status.tid = null
      this.hooks.onThreadExit?.(spec.name, threadId)
      resolveExit()
      this.launched(entry)
      const wanted = entry.status.state === 'stopping' || this.stopping
      if (wanted || (entry.finished && exitCode === 0 && entry.crashReason === null)) {
        entry.status.state = 'stopped'
        return
      }
      this.onCrash(entry, entry.crashCode ?? 'exit', entry.crashReason ?? `worker exited with code ${exitCode} without being asked to stop`, exitCode)
    })
  }

  /** Ends a worker the watchdog found stuck; its exit event records the crash and restarts it. */
  private terminateStalled(entry: Entry, reason: string): void {
    entry.status.state = 'stalled'
    entry.crashCode = 'stalled'
    entry.crashReason = reason
    this.logger.error('consumer stalled; terminating it', { ...serviceFields(entry.spec), reason })
    // terminate() stops even a busy loop (V8 interrupts it); the exit event follows.
    entry.worker?.terminate().catch(() => undefined)
  }

  private onCrash(entry: Entry, code: WorkerExitReason, reason: string, exitCode: number | null): void {
    const policy = { ...DEFAULT_POLICY, ...entry.spec.restart }
    const crash: CrashRecord = { atMs: performance.now(), code, reason, exitCode }
    entry.status.crashes++
    entry.status.lastCrash = crash
    // A worker that had been healthy for a while starts its backoff afresh.
    const longLife = crash.atMs - entry.startedAtMs > policy.resetAfterMs
    if (longLife) entry.backoffMs = policy.initialMs
    entry.status.crashesInARow = longLife ? 1 : entry.status.crashesInARow + 1
    entry.status.crashLooping = entry.status.crashesInARow >= CRASH_LOOP_AFTER
    const delay = entry.backoffMs
    entry.backoffMs = Math.min(policy.maxMs, entry.backoffMs * 2)
    entry.status.nextBackoffMs = entry.backoffMs
    this.hooks.onCrash?.(entry.spec.name, crash, delay)
    if (!policy.enabled) {
      entry.status.state = 'failed'
      this.logger.error('service crashed; restart disabled', { ...serviceFields(entry.spec), code, reason })
      return
    }
    entry.status.state = 'restarting'
    this.logger.error('service crashed; restarting', { ...serviceFields(entry.spec), code, reason, restart_in_ms: delay })
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
      this.logger.warn('service did not stop in time; terminating it', { ...serviceFields(entry.spec), timeout_ms: timeoutMs })
      await worker.terminate()
      await entry.exited
    }
    entry.status.state = 'stopped'
  }
}
