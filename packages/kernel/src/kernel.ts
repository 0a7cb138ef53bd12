import type { HeartEventMap, HeartEventType } from '@heart/contracts'
import { FrameRing, type ConsumerOptions, type RingOptions } from '@heart/ring'
import { MetricsRegistry, type Catalogue, type Histogram } from '@heart/telemetry'
import { KernelMetric } from './metrics.js'
import { EventQueue, type EventHandler } from './event-queue.js'
import { EMPTY_CAMERA, HealthAggregator, consumerHealth, judgeCamera, markNotGreen, type CameraHealth, type CameraReport, type ConsumerHealth, type ConsumerServiceHealth, type HealthReport, type ThermalHealth } from './health.js'
import { Supervisor, definedLimits, type RestartPolicy, type ServiceSpec, type ServiceStatus, type WorkerResourceLimits } from './supervisor.js'
import { DEFAULT_STALL_MS, ProgressWatch } from './watchdog.js'
import { TickLoop } from './tick-loop.js'
import { MAIN_THREAD, THREAD_CPU_SAMPLE_MS, ThreadCpuMeter, type MeteredThread } from './thread-cpu.js'
import { MetricsUpkeep } from './metrics-upkeep.js'
import { silentLogger } from './logger.js'
import type { ConsumerServiceConfig } from './consumer-service.js'
import type { Logger } from './types.js'

export interface KernelOptions {
  loop?: { periodMs?: number; warnGapMs?: number; eventsPerTick?: number; eventQueueCapacity?: number }
  health?: { redAfterMs?: number }
  supervisor?: {
    restartInitialMs?: number
    restartMaxMs?: number
    stopTimeoutMs?: number
    workerNice?: number
    /** Stagger first worker starts this far apart after each has loaded (SupervisorOptions.startSpacingMs); default 0: at once. */
    startSpacingMs?: number
    /** Default watchdog time of every consumer (DEFAULT_STALL_MS). */
    stallMs?: number
    /** Default resourceLimits of every worker. */
    resourceLimits?: WorkerResourceLimits
  }
  logger?: Logger
  /** Shared histograms so /metrics reads the same tick figures as /health. */
  tickIntervalHistogram?: Histogram
  tickDurationHistogram?: Histogram
  /** The shared metrics registry; consumers started by the kernel record into it. */
  metrics?: { buffer: SharedArrayBuffer; catalogue: Catalogue }
  /**
   * How often the tick loop copies the rings' and camera's books into the
   * metrics (drops, deliveries, occupancy, lag, last frame age). 0 turns the
   * upkeep off. Default 500 ms.
   */
  metricsUpkeepMs?: number
  /** Trace context table and sampling handed to consumer workers (see @heart/telemetry's WorkerTracingConfig). */
  tracing?: KernelTracing
  /**
   * Several cameras (addCamera): each consumer's service is named
   * `CAMERA.NAME` (unique in the process; its ring place keeps NAME), and
   * each camera is judged on its own: one camera down turns heart yellow,
   * every camera down red. Default false: the one-camera names of wave 1.
   */
  multiCamera?: boolean
}

/** Trace context table and sampling for consumer workers (kernel-wide, or a camera's own). */
export interface KernelTracing {
  buffer: SharedArrayBuffer
  config: import('@heart/telemetry').WorkerTracingConfig
  shared?: Record<string, SharedArrayBuffer>
}

/** A camera the kernel reports on: its ring, its figures, and where its consumers record metrics and spans. */
export interface CameraRegistration {
  ring: FrameRing
  /** The camera's /health figures (the capture service's health()). */
  health: () => CameraHealth | null
  /** The camera's own metrics registry (exported with camera="NAME"); default: the kernel's. */
  metrics?: { buffer: SharedArrayBuffer; catalogue: Catalogue }
  /** The camera's own trace table (its capture worker exports its spans); default: the kernel's. */
  tracing?: KernelTracing
}

/** A consumer service of a camera: which camera, and the consumer's own name there. */
interface CameraConsumer {
  camera: CameraEntry
  consumer: string
}

interface CameraEntry {
  name: string
  health: () => CameraHealth | null
  metrics: { buffer: SharedArrayBuffer; catalogue: Catalogue } | undefined
  tracing: KernelTracing | undefined
  /** Where its consumers' restarts are counted. */
  registry: MetricsRegistry | null
  /** Stops its own metrics upkeep (several cameras); null where it has none. */
  stopUpkeep: (() => void) | null
}

export interface ConsumerSpec<A = unknown> {
  /** Unique; also the ring consumer name (lower-case, digits, _). */
  name: string
  /** The worker entry file, which calls serveConsumer(). */
  entry: URL
  /** Which ring (see createRing). */
  ring: string
  consumer?: ConsumerOptions
  /** App-specific config handed to the worker as ctx.config.app. */
  app?: A
  /** More shared buffers (metrics, a second ring). */
  shared?: Record<string, SharedArrayBuffer>
  restart?: RestartPolicy
  /** Frames queued and none finished for this long: terminated and restarted as `stalled`. */
  stallMs?: number
  /** Over the kernel's default resourceLimits. */
  resourceLimits?: WorkerResourceLimits
}

/** How one consumer is supervised, as its config entry says (`stallMs`, `resourceLimits`). */
export interface ConsumerSupervision {
  stallMs?: number
  resourceLimits?: WorkerResourceLimits
}

interface RingEntry {
  ring: FrameRing
  /** Present for a camera's ring (addCamera). */
  camera?: CameraEntry
}

/** Per-consumer books of earlier lives (before crashes), added to the live ones. */
interface PastBooks {
  delivered: number
  published: number
  dropped: Record<string, number>
  skipped: Record<string, number>
}

/**
 * The microkernel: one tick loop, one event queue, one supervisor, the rings
 * and the health that describes them. It owns no pixels and never blocks;
 * workers do the heavy work. Apps build on it: create a ring, start a producer
 * service and consumer workers, subscribe to events, read health.
 */
export class Kernel {
  readonly loop: TickLoop
  readonly events: EventQueue
  readonly supervisor: Supervisor
  readonly health: HealthAggregator
  readonly logger: Logger
  private readonly rings = new Map<string, RingEntry>()
  /** By ring, then by the consumer's ring name. */
  private readonly pastBooks = new Map<string, Map<string, PastBooks>>()
  private readonly multiCamera: boolean
  private readonly cameras: CameraEntry[] = []
  /** Consumer services of cameras, by service name. */
  private readonly cameraConsumers = new Map<string, CameraConsumer>()
  private readonly redAfterMs: number
  private readonly upkeepMs: number
  private readonly stopTimeoutMs: number
  private readonly restartDefaults: RestartPolicy
  private readonly stallMs: number
  private readonly supervision = new Map<string, ConsumerSupervision>()
  private readonly serviceHealth = new Map<string, () => ConsumerServiceHealth | null>()
  private readonly consumerNames = new Set<string>()
  /** The shared registry, for the few figures the main thread counts itself (consumer restarts). */
  private readonly registry: MetricsRegistry | null
  /** Consumers whose restarts cannot be exported (told once). */
  private readonly uncounted = new Set<string>()
  private cameraHealth: (() => CameraHealth | null) | undefined
  private thermalHealth: (() => ThermalHealth | null) | undefined
  private primaryRing: string | undefined
  private signalHandler: (() => void) | undefined
  private lastStatus: HealthReport['status'] = 'green'
  private readonly metrics: KernelOptions['metrics']
  private readonly tracing: KernelOptions['tracing']
  /** Recent CPU of the main thread and of every worker thread that said its id. */
  private readonly threadCpu = new ThreadCpuMeter()
  /** Null without a shared registry or with the upkeep turned off. */
  readonly metricsUpkeep: MetricsUpkeep | null = null

  constructor(options: KernelOptions = {}) {
    this.logger = options.logger ?? silentLogger
    this.multiCamera = options.multiCamera ?? false
    this.redAfterMs = options.health?.redAfterMs ?? 3000
    this.metrics = options.metrics
    this.registry = this.metrics ? MetricsRegistry.attach(this.metrics.buffer, this.metrics.catalogue) : null
    this.tracing = options.tracing
    this.loop = new TickLoop({
      periodMs: options.loop?.periodMs,
      warnGapMs: options.loop?.warnGapMs,
      intervalHistogram: options.tickIntervalHistogram,
      durationHistogram: options.tickDurationHistogram,
      logger: this.logger,
    })
    this.events = new EventQueue(options.loop?.eventQueueCapacity ?? 4096, this.logger)
    this.stopTimeoutMs = options.supervisor?.stopTimeoutMs ?? 2000
    this.restartDefaults = { initialMs: options.supervisor?.restartInitialMs ?? 200, maxMs: options.supervisor?.restartMaxMs ?? 10_000 }
    this.stallMs = options.supervisor?.stallMs ?? DEFAULT_STALL_MS
    this.supervisor = new Supervisor(
      {
        onEvent: (service, type, payload) => this.events.push(type, payload, service),
        onThreadExit: (service, threadId) => this.onThreadExit(service, threadId),
        onCrash: (service, crash, backoffMs) => {
          if (this.consumerNames.has(service)) this.countRestart(service, crash.code)
          this.events.push('worker.crashed', { service, code: crash.code, reason: crash.reason, exitCode: crash.exitCode, restartInMs: backoffMs })
        },
      },
      this.logger,
      { workerNice: options.supervisor?.workerNice ?? 0, resourceLimits: options.supervisor?.resourceLimits, startSpacingMs: options.supervisor?.startSpacingMs ?? 0 },
    )
    this.health = new HealthAggregator(
      {
        camera: () => this.cameraHealth?.() ?? null,
        ring: () => (this.primaryRing ? (this.rings.get(this.primaryRing)?.ring ?? null) : null),
        thermal: () => this.thermalHealth?.() ?? null,
        loop: () => this.loop.stats(),
        loopWholeRun: () => this.loop.totals(),
        loopWindowS: this.loop.windowSeconds,
        workers: () => this.supervisor.statuses(),
        events: () => ({ queued: this.events.length, dropped: this.events.dropped }),
        cpuPercent: (thread) => this.threadCpu.percent(thread),
        judgeCamera: !this.multiCamera,
      },
      { redAfterMs: options.health?.redAfterMs },
    )
    const eventsPerTick = options.loop?.eventsPerTick ?? 256
    this.loop.onTick(() => {
      this.supervisor.tick()
      this.pollRings()
      this.events.drain(eventsPerTick)
    })
    // Subscribers learn about a status change without polling /health.
    this.loop.every(1000, () => {
      const { status, reasons } = this.report()
      if (status !== this.lastStatus) {
        this.events.push('health.change', { component: 'heart', from: this.lastStatus, to: status, reasons })
        this.lastStatus = status
      }
    })
    // Per-thread CPU: a /proc read per thread once a second, on a timer of the loop rather than in every tick.
    this.loop.every(THREAD_CPU_SAMPLE_MS, () => this.threadCpu.sample(this.meteredThreads()))
    const upkeepMs = options.metricsUpkeepMs ?? 500
    this.upkeepMs = upkeepMs
    if (this.registry && upkeepMs > 0) {
      const registry = this.registry
      // With several cameras each camera's figures go to its own registry (addCamera); this one keeps the threads'.
      const upkeep = new MetricsUpkeep(
        registry,
        this.multiCamera
          ? { consumers: () => ({}), threadCpu: () => this.threadCpu.percents() }
          : {
              consumers: () => this.report().consumers,
              ring: () => (this.primaryRing ? (this.rings.get(this.primaryRing)?.ring.stats() ?? null) : null),
              camera: () => this.cameraHealth?.() ?? null,
              threadCpu: () => this.threadCpu.percents(),
            },
        (what) => this.logger.warn('a figure has no metric in the catalogue; it is not exported', { metric: what }),
      )
      this.metricsUpkeep = upkeep
      this.loop.every(upkeepMs, () => upkeep.update())
    }
  }

  /** Creates a ring the kernel polls each tick; the first one is the camera ring shown in health. */
  createRing(name: string, options: RingOptions): FrameRing {
    return this.addRing(name, FrameRing.create(options))
  }

  /** Registers a ring created elsewhere (the capture service makes its own). */
  addRing(name: string, ring: FrameRing): FrameRing {
    this.rings.set(name, { ring })
    this.primaryRing ??= name
    return ring
  }

  /**
   * Registers a camera: its ring (under the camera's name, the `ring` its
   * consumers name), its health, and its own metrics and tracing buffers.
   * The first camera is the one the wave-1 `camera` / `consumers` keys show.
   */
  addCamera(name: string, registration: CameraRegistration): FrameRing {
    if (this.rings.has(name)) throw new RangeError(`a ring named "${name}" exists already`)
    const metrics = registration.metrics
    const registry = metrics ? MetricsRegistry.attach(metrics.buffer, metrics.catalogue) : this.registry
    const camera: CameraEntry = { name, health: registration.health, metrics, tracing: registration.tracing, registry, stopUpkeep: null }
    this.cameras.push(camera)
    this.rings.set(name, { ring: registration.ring, camera })
    this.primaryRing ??= name
    this.cameraHealth ??= registration.health
    if (this.multiCamera && metrics && registry && this.upkeepMs > 0) {
      const ring = registration.ring
      const upkeep = new MetricsUpkeep(
        registry,
        { consumers: () => this.cameraBooks(name, this.supervisorWorkers()), ring: () => ring.stats(), camera: () => registration.health() },
        (what) => this.logger.warn('a figure has no metric in the catalogue; it is not exported', { metric: what, camera: name }),
      )
      camera.stopUpkeep = this.loop.every(this.upkeepMs, () => upkeep.update())
    }
    return registration.ring
  }

  /**
   * Forgets a camera (a config reload removed or changed it): its ring, its
   * health, its consumers' books and supervision. Stop its workers first
   * (kernel.supervisor.stop); the next camera becomes the first.
   */
  removeCamera(name: string): void {
    const entry = this.rings.get(name)
    const camera = entry?.camera
    if (!entry || !camera) throw new RangeError(`no camera named "${name}"`)
    camera.stopUpkeep?.()
    this.rings.delete(name)
    this.pastBooks.delete(name)
    this.cameras.splice(this.cameras.indexOf(camera), 1)
    for (const [service, of] of this.cameraConsumers) {
      if (of.camera !== camera) continue
      this.cameraConsumers.delete(service)
      this.consumerNames.delete(service)
      this.supervision.delete(service)
      this.serviceHealth.delete(service)
    }
    if (this.primaryRing === name) this.primaryRing = this.cameras[0]?.name
    if (this.cameraHealth === camera.health) this.cameraHealth = this.cameras[0]?.health
  }

  /** The cameras registered so far, in order. */
  cameraNames(): string[] {
    return this.cameras.map((c) => c.name)
  }

  /** The service name of a ring's consumer: `CAMERA.NAME` with several cameras, else NAME. */
  consumerServiceName(ring: string, consumer: string): string {
    const camera = this.rings.get(ring)?.camera
    return this.multiCamera && camera ? `${camera.name}.${consumer}` : consumer
  }

  /** The camera a service works for (a consumer of its ring), or null (the thermal poller, the kernel). */
  cameraOfService(service: string): string | null {
    return this.cameraConsumers.get(service)?.camera.name ?? null
  }

  ring(name: string): FrameRing | undefined {
    return this.rings.get(name)?.ring
  }

  /** Starts any supervised worker service (a producer, a thermal poller, ...). */
  startService<C>(spec: ServiceSpec<C>): ServiceStatus {
    return this.supervisor.start({ ...spec, restart: { ...this.restartDefaults, ...spec.restart } })
  }

  /**
   * How the consumer of that name is supervised (its config entry's
   * `stallMs`, `resourceLimits`); call before the kind starts it. A
   * ConsumerSpec's own fields win.
   */
  setConsumerSupervision(name: string, supervision: ConsumerSupervision, ring?: string): void {
    this.supervision.set(ring === undefined ? name : this.consumerServiceName(ring, name), supervision)
  }

  /** Where the consumer's outside service state comes from (shown as consumers.NAME.service in /health). */
  setConsumerServiceHealth(name: string, source: () => ConsumerServiceHealth | null, ring?: string): void {
    this.serviceHealth.set(ring === undefined ? name : this.consumerServiceName(ring, name), source)
  }

  /**
   * Starts a consumer worker on a ring; it is restarted on crash and its
   * leases reclaimed, and a watchdog restarts it when it stalls.
   */
  startConsumer<A>(spec: ConsumerSpec<A>): ServiceStatus {
    const entry = this.rings.get(spec.ring)
    if (!entry) throw new RangeError(`no ring named "${spec.ring}"; create it with kernel.createRing() first`)
    const service = this.consumerServiceName(spec.ring, spec.name)
    const supervision = this.supervision.get(service) ?? this.supervision.get(spec.name)
    this.consumerNames.add(service)
    if (entry.camera) this.cameraConsumers.set(service, { camera: entry.camera, consumer: spec.name })
    const ring = entry.ring
    const watchdog = new ProgressWatch(spec.stallMs ?? supervision?.stallMs ?? this.stallMs, (index) => ring.queued(index))
    const config: ConsumerServiceConfig<A | undefined> = { ring: 'ring', consumer: spec.consumer ?? {}, app: spec.app, progress: 'progress' }
    if (service !== spec.name) config.ringName = spec.name
    const shared: Record<string, SharedArrayBuffer> = { ...spec.shared, ring: entry.ring.buffer, progress: watchdog.buffer }
    const metrics = entry.camera?.metrics ?? this.metrics
    if (metrics) {
      shared.metrics = metrics.buffer
      config.metrics = { key: 'metrics', catalogue: metrics.catalogue }
    }
    const tracing = entry.camera?.tracing ?? this.tracing
    if (tracing) {
      shared.traces = tracing.buffer
      Object.assign(shared, tracing.shared)
      config.tracing = { ...tracing.config, key: 'traces' }
    }
    return this.startService({
      name: service,
      ...(entry.camera ? { camera: entry.camera.name } : {}),
      entry: spec.entry,
      config,
      shared,
      restart: spec.restart,
      watchdog,
      resourceLimits: { ...definedLimits(supervision?.resourceLimits), ...definedLimits(spec.resourceLimits) },
    })
  }

  /** Subscribes to events of a type ('*' for all); handlers run on the main thread during ticks. */
  on<K extends HeartEventType>(type: K, handler: EventHandler<HeartEventMap[K]>): () => void
  on<P = unknown>(type: string, handler: EventHandler<P>): () => void
  on(type: string, handler: EventHandler<never>): () => void {
    return this.events.on(type, handler as EventHandler)
  }

  /** Where the camera section of health comes from (the capture package). */
  setCameraHealth(source: () => CameraHealth | null): void {
    this.cameraHealth = source
  }

  setThermalHealth(source: () => ThermalHealth | null): void {
    this.thermalHealth = source
  }

  /** The /health object, with each consumer's books summed over its restarts. */
  report(): HealthReport {
    const report = this.health.report()
    if (!this.multiCamera) {
      // One camera (or a ring without one): the aggregator judged it; its consumers are the primary ring's.
      if (this.primaryRing) report.consumers = this.cameraBooks(this.primaryRing, report.workers, report, report.consumers)
      const first = this.cameras[0]
      if (first) report.cameras = { [first.name]: { ...report.camera, consumers: report.consumers } }
      return report
    }
    const cameras: Record<string, CameraReport> = {}
    const down: string[] = []
    let enabled = 0
    for (const camera of this.cameras) {
      const health = camera.health() ?? { ...EMPTY_CAMERA }
      cameras[camera.name] = { ...health, consumers: this.cameraBooks(camera.name, report.workers, report) }
      if (health.state === 'disabled') continue
      enabled++
      const verdict = judgeCamera(health, this.redAfterMs)
      if (!verdict) continue
      if (verdict.level === 'red') down.push(camera.name)
      markNotGreen(report, `camera ${camera.name}: ${verdict.reason}`)
    }
    // One camera down is a degraded box (the others still run); every camera down is a dead one.
    if (enabled > 0 && down.length === enabled) report.status = 'red'
    report.cameras = cameras
    const first = this.cameras[0]
    if (first) {
      report.camera = cameras[first.name]!
      report.consumers = cameras[first.name]!.consumers
    }
    return report
  }

  /**
   * One ring's consumers as /health shows them: the live books (or `live`,
   * already built by the aggregator), plus earlier lives' books, the worker's
   * state and the consumer's outside service (which turns `report` yellow
   * when it is down).
   */
  private cameraBooks(ringKey: string, workers: HealthReport['workers'], report?: HealthReport, live?: Record<string, ConsumerHealth>): Record<string, ConsumerHealth> {
    const ring = this.rings.get(ringKey)?.ring
    const consumers: Record<string, ConsumerHealth> = live ?? {}
    if (!live && ring) {
      for (const stats of ring.consumerStats()) {
        const books = consumerHealth(stats)
        const w = workers[this.consumerServiceName(ringKey, stats.name)]
        if (w) books.worker = { state: w.state, restarts: w.restarts, last_crash: w.last_crash, last_exit: w.last_exit, crash_looping: w.crash_looping }
        consumers[stats.name] = books
      }
    }
    for (const [name, past] of this.pastBooks.get(ringKey) ?? []) {
      const now = consumers[name]
      // Out of the ring with its worker still running: a consumer working on
      // demand that nobody wants now (the encoder with no viewer), not a lost one.
      const idle = workers[this.consumerServiceName(ringKey, name)]?.state === 'running'
      consumers[name] = now ? addBooks(now, past) : { ...past, lag: 0, state: idle ? 'idle' : 'gone' }
    }
    if (report) {
      for (const [name, consumer] of Object.entries(consumers)) {
        const service = this.consumerServiceName(ringKey, name)
        const state = this.serviceHealth.get(service)?.()
        if (!state) continue
        consumer.service = state
        if (state.state === 'unreachable' || state.state === 'failing') markNotGreen(report, `consumer ${service}: its service is ${state.state} (${state.last_error ?? 'no answer'})`)
      }
    }
    return consumers
  }

  /** The workers' part of /health, for the metrics upkeep (which needs no judgement). */
  private supervisorWorkers(): HealthReport['workers'] {
    const workers: HealthReport['workers'] = {}
    for (const w of this.supervisor.statuses()) {
      workers[w.name] = { state: w.state, starts: w.starts, crashes: w.crashes, restarts: Math.max(0, w.starts - 1), last_crash: w.lastCrash?.reason ?? null, last_exit: w.lastCrash?.code ?? null, crash_looping: w.crashLooping ?? false, heap_used_mb: null, heap_total_mb: null }
    }
    return workers
  }

  start(): void {
    this.loop.start()
  }

  /** Stops the loop and every worker (bounded by the supervisor's stop timeout). */
  async stop(): Promise<void> {
    this.removeSignalHandlers()
    await this.supervisor.stopAll(this.stopTimeoutMs)
    this.pollRings()
    this.metricsUpkeep?.update()
    this.loop.stop()
  }

  /** Stops cleanly on SIGINT / SIGTERM, then calls onStopped (to write a summary, exit). */
  installSignalHandlers(onStopped: (signal: string) => void | Promise<void>): void {
    let stopping = false
    const handler = (signal: string): void => {
      if (stopping) return
      stopping = true
      this.logger.info('stopping on signal', { signal })
      void this.stop().then(() => onStopped(signal))
    }
    const onInt = (): void => handler('SIGINT')
    const onTerm = (): void => handler('SIGTERM')
    process.on('SIGINT', onInt)
    process.on('SIGTERM', onTerm)
    this.signalHandler = () => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
    }
  }

  private removeSignalHandlers(): void {
    this.signalHandler?.()
    this.signalHandler = undefined
  }

  private pollRings(): void {
    for (const [name, entry] of this.rings) {
      const retired = entry.ring.collectRetired()
      // /health's consumers are the cameras' rings': a consumer that leaves
      // another ring (the live view's reader of the thermal ring) is not one
      // of them, and keeping its books here would list it as a camera consumer.
      if (!(entry.camera && this.multiCamera) && name !== this.primaryRing) continue
      for (const stats of retired) this.keepBooks(name, stats.name, consumerHealth(stats))
    }
  }

  private keepBooks(ring: string, name: string, books: ConsumerHealth): void {
    let ringBooks = this.pastBooks.get(ring)
    if (!ringBooks) this.pastBooks.set(ring, (ringBooks = new Map()))
    const past = ringBooks.get(name) ?? { delivered: 0, published: 0, dropped: {}, skipped: {} }
    ringBooks.set(name, addBooks(past, books))
  }

  /** heart.consumer.restarts by reason; a consumer the catalogue does not name is not counted (told once). */
  private countRestart(service: string, reason: string): void {
    // A camera's consumer is counted in its camera's registry, under its own name.
    const of = this.cameraConsumers.get(service)
    const registry = of ? of.camera.registry : this.registry
    const consumer = of ? of.consumer : service
    if (!registry) return
    try {
      registry.counter(KernelMetric.consumerRestarts, { consumer, reason }).add(1)
    } catch {
      if (this.uncounted.has(consumer)) return
      this.uncounted.add(consumer)
      this.logger.warn('a consumer the metrics catalogue does not name; its restarts are not exported', { consumer })
    }
  }

  /** The main thread (the process's first thread: its id is the pid) and every live worker that said its id. */
  private meteredThreads(): MeteredThread[] {
    const threads: MeteredThread[] = [{ name: MAIN_THREAD, tid: process.pid }]
    for (const s of this.supervisor.statuses()) if (s.tid !== null) threads.push({ name: s.name, tid: s.tid })
    return threads
  }

  private onThreadExit(service: string, threadId: number): void {
    for (const { ring } of this.rings.values()) {
      if (ring.markThreadDead(threadId) > 0) this.logger.info('reclaiming ring places of a stopped worker', { service })
    }
  }
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum: Record<string, number> = { ...a }
  for (const [reason, n] of Object.entries(b)) sum[reason] = (sum[reason] ?? 0) + n
  return sum
}

function addBooks<T extends PastBooks>(a: T, b: PastBooks): T {
  return {
    ...a,
    delivered: a.delivered + b.delivered,
    published: a.published + b.published,
    dropped: addCounts(a.dropped, b.dropped),
    skipped: addCounts(a.skipped, b.skipped),
  }
}
