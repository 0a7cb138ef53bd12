import { writeFile } from 'node:fs/promises'
import { EMPTY_CAMERA, Kernel, markNotGreen, type CameraReport, type HealthReport, type HttpRoute, type KernelTracing, type Logger } from '@heart/kernel'
import { CaptureService, redactUrl, type CaptureSupervisor } from '@heart/capture'
import {
  ConsumeLog,
  MetricsRegistry,
  TraceTable,
  createFieldLogger,
  otlpMetricsUrl,
  otlpTracesUrl,
  parseTelemetryConfig,
  prometheusRoute,
  startOtlpMetrics,
  type LabelledRegistry,
  type OtlpMetricsHandle,
  type WorkerTracingConfig,
} from '@heart/telemetry'
import { cameraPlans, loadCheckedConfig, type CameraPlan, type ConfigOverrides, type HeartConfig } from './config.js'
import { HeartMetric, cameraMetricsCatalogue, heartMetricsCatalogue } from './metrics-catalogue.js'
import { startConsumerKind, type StartedConsumer } from './consumer-kinds.js'
import { startThermal, type ThermalConfig } from '@heart/thermal'
import { HttpServer, jsonRoute } from './http-server.js'
import { resolveHttpSecurity } from './http/security.js'
import { StatusPrinter, statusLine } from './status-line.js'
import { systemdNotifier } from './systemd.js'
import { heartVersion } from './version.js'
import { RunRecorder, checkSummaryTarget, type RunSummary } from './summary.js'
import { planCameraRings } from './ring-memory.js'
import { packetRingBytes, type FrameRing } from '@heart/ring'
import { RAW_CAPTURE_CONSUMER, RecorderService, recordRoot, recorderServiceName } from '@heart/record'
import { MqttBridge } from '@heart/mqtt'
import { LiveMp4Service, clockRoute, liveMp4ServiceName } from '@heart/stream'

/** How often systemd's STATUS= (systemctl status) is refreshed. */
const SYSTEMD_STATUS_EVERY_MS = 5000

/** Waits (bounded) until no consumer has frames queued. */
async function drainConsumers(ring: FrameRing, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs
  while (performance.now() < end && ring.consumerStats().some((c) => c.state === 'active' && c.lag > 0)) {
    await new Promise((r) => setTimeout(r, 10))
  }
}

export interface RunOptions extends ConfigOverrides {
  configFile?: string
  /** Stop after this many seconds (otherwise on SIGINT / SIGTERM). */
  durationS?: number
  /** Write the run summary JSON here when stopping. */
  summaryFile?: string
  /** Status output (default: stdout). */
  statusStream?: NodeJS.WriteStream
  /** false: no status output at all (embedding, tests). */
  status?: boolean
  logger?: Logger
  /** Install SIGINT / SIGTERM handlers (the CLI does; embedders may not). */
  handleSignals?: boolean
  /** The `telemetry` config section, used instead of the file's (see docs/telemetry.md). */
  telemetry?: unknown
  /** Where HEART_TOKEN is read (default: process.env). */
  env?: NodeJS.ProcessEnv
}

export interface RunningHeart {
  config: HeartConfig
  kernel: Kernel
  /** The first camera's capture (the only one with one camera). */
  capture: CaptureService
  /** Every started camera, in config order, with the registry its series are in. */
  cameras: Array<{ name: string; capture: CaptureService; metrics: MetricsRegistry }>
  /** Where HTTP listens (port 0 in the config picks a free one), and whether it speaks TLS. */
  http: { host: string; port: number; tls: boolean }
  /** The shared metrics registry (latency, decode and tick histograms): the soak bench samples it. */
  metrics: MetricsRegistry
  /** The thermal service, or null when thermal is disabled. */
  thermal: ReturnType<typeof startThermal> | null
  report(): HealthReport
  /** Reads the config file again (SIGHUP): cameras added, removed or changed start and stop; the others run on. */
  reload(): Promise<ReloadResult>
  /** Stops everything; resolves with the summary (also written to summaryFile). */
  stop(): Promise<RunSummary>
  /** Resolves when the run ended (duration, signal or stop()). */
  finished: Promise<RunSummary>
}

/**
 * `heart run`: composes the kernel, the camera (capture worker), the consumer
 * workers, metrics and the HTTP endpoints, and runs until the duration is up
 * or a signal arrives.
 */
export async function runHeart(options: RunOptions = {}): Promise<RunningHeart> {
  const logger = options.logger ?? createFieldLogger({ base: { app: 'heart' } })
  const { config, configDir } = await loadCheckedConfig(options.configFile, options)
  const telemetry = parseTelemetryConfig(options.telemetry ?? config.telemetry, `${options.configFile ?? 'config'}: telemetry`)
  // Before anything starts: an unprotected non-loopback address or unreadable TLS files stop here.
  const security = resolveHttpSecurity(config.http, options.env ?? process.env, configDir)
  let plans = cameraPlans(config)
  const active = plans.filter((p) => p.enabled)
  // Several cameras: consumer services are CAMERA.NAME, each camera has its own metrics and traces (labelled camera=NAME).
  const multi = plans.length > 1
  // Before anything starts: a summary that could not be written at stop, rings the machine cannot hold.
  if (options.summaryFile) checkSummaryTarget(options.summaryFile)
  const ringPlans = planCameraRings(config.ring, plans, options.configFile ?? 'built-in defaults')

  // The MLX90640: the emulator unless a bus is configured; `thermal: { enabled: false }` turns it off.
  const thermalConfig = (config.thermal ?? {}) as ThermalConfig
  const thermalEnabled = thermalConfig.enabled !== false
  // A raw capture joins the camera ring for a while (a spare place) and has books like any consumer.
  const ringConsumersOf = (p: CameraPlan): string[] => [...p.consumers.map((c) => c.name), ...(p.record.enabled ? [RAW_CAPTURE_CONSUMER] : [])]
  const serviceOf = (p: CameraPlan, service: string): string => (multi ? `${p.name}.${service}` : service)
  const cameraWorkers = active.flatMap((p) => [
    serviceOf(p, CAPTURE_SERVICE),
    ...(multi ? p.consumers.map((c) => serviceOf(p, c.name)) : []),
    ...(p.record.enabled ? [recorderServiceName(p.name)] : []),
    ...(config.http.livePassthrough ? [liveMp4ServiceName(p.name)] : []),
  ])
  const recording = active.filter((p) => p.record.enabled).map((p) => p.name)
  // One camera: one registry, as in wave 1. Several: the process's figures here, each camera's in its own registry.
  const catalogue = multi
    ? heartMetricsCatalogue({ consumers: [], thermal: thermalEnabled, threads: cameraWorkers, recording, cameraSeries: false })
    : heartMetricsCatalogue({ consumers: ringConsumersOf(active[0]!), thermal: thermalEnabled, workers: cameraWorkers.filter((w) => w !== CAPTURE_SERVICE), recording })
  const metrics = MetricsRegistry.create(catalogue)
  const tracesUrl = otlpTracesUrl(telemetry)
  const kernel = new Kernel({
    loop: config.loop,
    health: config.health,
    supervisor: config.supervisor,
    logger,
    tickIntervalHistogram: metrics.histogram(HeartMetric.loopTickInterval),
    tickDurationHistogram: metrics.histogram(HeartMetric.loopTickDuration),
    metrics: { buffer: metrics.buffer, catalogue },
    metricsUpkeepMs: telemetry.enabled ? telemetry.upkeepMs : 0,
    multiCamera: multi,
  })
  const restart = { initialMs: config.supervisor.restartInitialMs, maxMs: config.supervisor.restartMaxMs }

  const cameras: RunningCamera[] = []
  // One camera: the run's catalogue names the consumers it started with, whatever a reload starts later.
  const firstConsumers = new Set(active[0] ? ringConsumersOf(active[0]) : [])
  const stopCameras = (): Promise<unknown> => Promise.all(cameras.map((c) => c.capture.stop()))
  /** Starts a camera's capture worker and registers its ring with the kernel (its consumers come later). */
  const openCamera = (plan: CameraPlan, slotCount: number): RunningCamera => {
    const cameraCatalogue = multi ? cameraMetricsCatalogue(ringConsumersOf(plan)) : catalogue
    const cameraMetrics = multi ? MetricsRegistry.create(cameraCatalogue) : metrics
    // Frame tracing: a camera's capture worker and its consumers share one table of sampled frames' trace context.
    const tracing = tracesUrl === null ? null : frameTracing(telemetry, tracesUrl, plan.name, plan.consumers.map((c) => c.name))
    const supervisor: CaptureSupervisor = tracing
      ? {
          start: (spec) =>
            kernel.supervisor.start({ ...spec, config: { ...spec.config, tracing: tracing.config }, shared: { ...spec.shared, traces: tracing.buffer, ...tracing.shared } }),
          stop: (name, timeoutMs) => kernel.supervisor.stop(name, timeoutMs),
        }
      : kernel.supervisor
    const consumers = plan.consumers
    const maxDepth = Math.max(config.ring.depth, ...consumers.map((c) => c.depth ?? config.ring.depth))
    const capture = CaptureService.start(
      supervisor,
      { ...plan.options, source: plan.source },
      {
        name: serviceOf(plan, CAPTURE_SERVICE),
        camera: plan.name,
        ring: {
          maxConsumers: consumers.length + config.ring.spareConsumers,
          defaultDepth: config.ring.depth,
          maxDepth,
          maxLeases: config.ring.maxLeases,
          slotCount,
        },
        metrics: { buffer: cameraMetrics.buffer, catalogue: cameraCatalogue },
        restart,
        ...(plan.record.enabled ? { packets: packetRingPlan(plan.record) } : config.http.livePassthrough ? { packets: livePacketRingPlan(plan.record) } : {}),
      },
    )
    kernel.addCamera(plan.name, {
      ring: capture.ring,
      health: () => capture.health(),
      ...(multi ? { metrics: { buffer: cameraMetrics.buffer, catalogue: cameraCatalogue } } : {}),
      ...(tracing ? { tracing } : {}),
    })
    return { plan, capture, metrics: cameraMetrics, started: new Map(), ringConsumers: new Set(ringConsumersOf(plan).filter((c) => multi || firstConsumers.has(c))), maxDepth, recorder: null, live: null }
  }
  for (const plan of active) {
    try {
      cameras.push(openCamera(plan, ringPlans.get(plan.name)!.slotCount))
    } catch (error) {
      await Promise.all([stopCameras(), kernel.stop()])
      throw error
    }
  }
  // Single camera: the kernel-wide tracing (its consumers find it there, as in wave 1) is the camera's own.

  let thermal: ReturnType<typeof startThermal> | null = null
  if (thermalEnabled) {
    try {
      thermal = startThermal(kernel, thermalConfig, { metrics: { buffer: metrics.buffer, catalogue }, restart })
    } catch (error) {
      await Promise.all([stopCameras(), kernel.stop()])
      throw error
    }
  }

  /** Starts the camera's consumers (`only`: just these names), in the config's order. */
  const startConsumers = async (camera: RunningCamera, only?: ReadonlySet<string>): Promise<void> => {
    const synthetic = camera.capture.spec.kind === 'synthetic'
    for (const c of camera.plan.consumers) {
      if (only && !only.has(c.name)) continue
      camera.started.set(c.name, await startConsumerKind(c, { kernel, ring: camera.plan.name, synthetic, thermalRing: thermal?.ring ?? null, configDir: currentDir }))
    }
  }
  /** Stops these consumers of a camera; its capture and other consumers run on. */
  const stopConsumers = async (camera: RunningCamera, names: readonly string[]): Promise<void> => {
    for (const name of names) {
      camera.started.get(name)?.stop?.()
      camera.started.delete(name)
    }
    await stopServices(names.map((n) => kernel.consumerServiceName(camera.plan.name, n)))
  }
  /** Stops those of these worker services that run. A kind's own stop() may already be stopping its worker: one gone meanwhile is not an error. */
  const stopServices = async (services: readonly string[]): Promise<void> => {
    const running = new Set(kernel.supervisor.statuses().map((w) => w.name))
    await Promise.all(services.filter((w) => running.has(w)).map((w) => kernel.supervisor.stop(w, config.supervisor.stopTimeoutMs).catch(() => undefined)))
  }
  // The recorders and the live view's muxers start after the consumers (workers start one after another, and
  // these do not need the first seconds: the recorder reaches back into the packet ring's history).
  const startRecorderAndLive = (camera: RunningCamera, first: boolean): void => {
    const { plan, capture } = camera
    if (plan.record.enabled && capture.packets) {
      camera.recorder = RecorderService.start(kernel, {
        camera: plan.name,
        config: plan.record,
        root: recordRoot(plan.record, currentDir),
        packets: capture.packets,
        frames: capture.ring,
        pixFmt: plan.options.pixFmt,
        metrics: { buffer: metrics.buffer, catalogue },
        restart,
      })
    }
    // The passthrough live view (GET /cameras/NAME/live.mp4): its worker muxes only while someone watches.
    if (config.http.livePassthrough && capture.packets) {
      camera.live = LiveMp4Service.start(kernel, { camera: plan.name, packets: capture.packets, fragmentRing: livePacketRingPlan(plan.record), unprefixed: first, restart })
    }
  }
  /** Stops all a camera runs (consumers, recorder, live muxer, capture) and forgets it; the other cameras are not touched. */
  const closeCamera = async (camera: RunningCamera): Promise<void> => {
    const name = camera.plan.name
    await camera.capture.stop(config.supervisor.stopTimeoutMs)
    await drainConsumers(camera.capture.ring, 1000)
    runRecorder.unfollow(name)
    for (const s of camera.started.values()) s.stop?.()
    camera.live?.close()
    await camera.recorder?.stop(config.supervisor.stopTimeoutMs)
    const workers = new Set([liveMp4ServiceName(name), ...camera.plan.consumers.map((c) => kernel.consumerServiceName(name, c.name))])
    await stopServices(kernel.supervisor.statuses().map((w) => w.name).filter((w) => workers.has(w) || kernel.cameraOfService(w) === name))
    kernel.removeCamera(name)
  }
  let currentDir = configDir
  try {
    for (const camera of cameras) await startConsumers(camera)
  } catch (error) {
    await Promise.all([stopCameras(), kernel.stop()])
    throw error
  }
  for (const [index, camera] of cameras.entries()) startRecorderAndLive(camera, index === 0)
  const first = cameras[0]!
  let mqtt: MqttBridge | null = null
  const report = (): HealthReport => {
    const base = kernel.report() as HealthReport & Record<string, unknown>
    for (const [index, camera] of cameras.entries()) {
      const section = base.cameras?.[camera.plan.name] as (CameraReport & Record<string, unknown>) | undefined
      // What a camera's parts add (the encoder's stream, the recorder, the live muxer): in its cameras entry, and the first camera's also at the top, as in wave 1.
      const extra: Record<string, unknown> = {}
      for (const s of camera.started.values()) if (s.health) Object.assign(extra, s.health())
      if (camera.recorder) {
        extra.recorder = camera.recorder.health()
        const trouble = camera.recorder.trouble()
        if (trouble) markNotGreen(base, multi ? `camera ${camera.plan.name}: ${trouble}` : trouble)
      }
      if (camera.live) extra.live_mp4 = camera.live.stats()
      if (section) Object.assign(section, extra)
      if (index === 0) Object.assign(base, extra)
    }
    for (const plan of plans) {
      if (!plan.enabled && base.cameras) base.cameras[plan.name] = { ...EMPTY_CAMERA, state: 'disabled', source: redactUrl(plan.source), consumers: {} }
    }
    if (mqtt) {
      base.mqtt = mqtt.health()
      const trouble = mqtt.trouble()
      if (trouble) markNotGreen(base, trouble)
    }
    return base
  }

  const runRecorder = new RunRecorder(kernel, cameras.map((c) => ({ name: c.plan.name, ring: c.capture.ring, metrics: c.metrics })))
  kernel.loop.every(1000, () => runRecorder.sample())

  // Every series of a camera's registry is exported with camera="NAME" (DESIGN.md "HTTP": /metrics).
  // One camera: its series and the process's share one registry, and only the camera's get the label (the same split as with several).
  const exported: LabelledRegistry[] = multi
    ? [{ registry: metrics, labels: {} }, ...cameras.map((c) => ({ registry: c.metrics, labels: { camera: c.plan.name } }))]
    : [{ registry: metrics, labels: { camera: first.plan.name }, labelledNames: new Set(cameraMetricsCatalogue(ringConsumersOf(first.plan)).map((d) => d.name)) }]
  const http = new HttpServer(logger, { security, limits: config.http.limits, allowedHosts: config.http.allowedHosts })
  const fixedRoutes = [jsonRoute('/health', report), prometheusRoute(exported, { runtime: { version: heartVersion() } })]
  const routes = (): HttpRoute[] => [...fixedRoutes, ...cameraRoutes(cameras), ...(cameras.some((c) => c.live) ? [clockRoute()] : [])]
  http.add(routes())
  let address: RunningHeart['http']
  try {
    const a = await http.listen(config.http.host, config.http.port)
    address = { host: a.address, port: a.port, tls: security.tls !== null }
  } catch (error) {
    await Promise.all([stopCameras(), kernel.stop()])
    throw error
  }
  kernel.start()
  // After the kernel: the bridge subscribes to its events; it never holds the start up waiting for a broker.
  mqtt = config.mqtt.url === undefined ? null : MqttBridge.start({
          config: config.mqtt,
          events: kernel,
          health: report,
          cameras: mqttCameras(cameras),
          cameraOf: (source) => kernel.cameraOfService(source),
          logger, env: options.env ?? process.env, thermalRing: thermal?.ring ?? null })
  const metricsUrl = otlpMetricsUrl(telemetry)
  const otlpMetrics: OtlpMetricsHandle | null =
    metricsUrl === null ? null : startOtlpMetrics(exported, { url: metricsUrl, headers: telemetry.otlp.headers, intervalMs: telemetry.otlp.metricsIntervalMs, log: logger })
  if (metricsUrl !== null || tracesUrl !== null) {
    // URLs only: headers may hold credentials.
    logger.info('telemetry export', { metrics: metricsUrl, traces: tracesUrl, sample_every: tracesUrl === null ? null : telemetry.traces.sampleEvery })
  }
  if (security.openToNetwork) logger.warn('HTTP serves every machine that can reach the port, with no token (http.auth: none): anyone there can switch the AI-lock; see docs/security.md', { host: address.host, port: address.port })
  const urlHost = address.host.includes(':') ? `[${address.host}]` : address.host
  const httpUrl = `${address.tls ? 'https' : 'http'}://${urlHost}:${address.port}`
  if (multi) {
    for (const plan of plans) logger.info(plan.enabled ? 'camera configured' : 'camera disabled in the config; not started', { camera: plan.name, source: redactUrl(plan.source), consumers: plan.consumers.map((c) => c.name) })
    logger.info('heart running', { cameras: active.map((p) => p.name), http: httpUrl, auth: security.token ? 'token' : 'none' })
  } else {
    logger.info('heart running', { source: first.capture.spec.redacted, http: httpUrl, auth: security.token ? 'token' : 'none', consumers: first.plan.consumers.map((c) => c.name) })
  }

  const printer = options.status === false ? null : new StatusPrinter(options.statusStream)
  if (printer) kernel.loop.every(1000, () => printer.print(report()))
  // Under systemd: ready now (cameras opening, HTTP listening); the watchdog is pinged from the tick loop itself.
  const systemd = await systemdNotifier(options.env ?? process.env, logger)
  if (systemd) {
    systemd.ready(statusLine(report(), false))
    if (systemd.watchdogEveryMs !== null) kernel.loop.every(systemd.watchdogEveryMs, () => systemd.watchdog())
    kernel.loop.every(SYSTEMD_STATUS_EVERY_MS, () => systemd.status(statusLine(report(), false)))
  }

  let resolveFinished!: (s: RunSummary) => void
  const finished = new Promise<RunSummary>((r) => (resolveFinished = r))
  let stopping: Promise<RunSummary> | undefined
  const stop = (): Promise<RunSummary> => {
    stopping ??= (async () => {
      clearTimeout(durationTimer)
      systemd?.stopping()
      // Stop the camera first and let consumers finish what is queued, so
      // the final books balance (delivered + dropped = published, lag 0).
      runRecorder.sample()
      // Health as it was while running (stopping the camera turns it red)...
      const running = report()
      await Promise.all(cameras.map((c) => c.capture.stop(config.supervisor.stopTimeoutMs)))
      await Promise.all(cameras.map((c) => drainConsumers(c.capture.ring, 1000)))
      // ...with the consumers' final, drained books.
      const summary = runRecorder.summary()
      summary.health = { ...running, consumers: summary.health.consumers, ...(summary.health.cameras ? { cameras: withBooks(running.cameras, summary.health.cameras) } : {}) }
      for (const camera of cameras) {
        for (const s of camera.started.values()) s.stop?.()
        camera.live?.close()
      }
      // `offline` (retained) before the kernel goes: a clean stop is not a last will.
      await mqtt?.stop()
      await kernel.stop()
      // A last push of the final figures; bounded inside (OTLP_STOP_BOUND_MS), and skipped while the collector is down.
      await otlpMetrics?.shutdown()
      await http.close()
      printer?.finish()
      // Checked writable at start; should the folder have gone since, say so and still stop cleanly.
      if (options.summaryFile) {
        await writeFile(options.summaryFile, JSON.stringify(summary, null, 2) + '\n').catch((error: unknown) =>
          logger.error('run summary not written', { file: options.summaryFile, error: error instanceof Error ? error.message : String(error) }),
        )
      }
      logger.info('heart stopped', { published: summary.published, duration_s: summary.duration_s })
      resolveFinished(summary)
      return summary
    })()
    return stopping
  }
  const durationTimer = options.durationS ? setTimeout(() => void stop(), options.durationS * 1000) : undefined

  let running = config
  /** Reads the config file again and applies what changed to the cameras (see ReloadResult). */
  const applyReload = async (): Promise<ReloadResult> => {
    const result: ReloadResult = { applied: false, errors: [], added: [], removed: [], restarted: [], reconfigured: [], unchanged: [], failed: [], needsRestart: [] }
    const refuse = (error: string): ReloadResult => {
      result.errors.push(error)
      logger.error('config reload refused; the running config is kept', { file: options.configFile ?? null, error })
      return result
    }
    if (stopping) return refuse('heart is stopping')
    if (options.configFile === undefined) return refuse('heart runs on the built-in defaults (no --config FILE): there is no file to read again')
    let next: HeartConfig
    let nextPlans: CameraPlan[]
    let nextRings: ReturnType<typeof planCameraRings>
    try {
      const loaded = await loadCheckedConfig(options.configFile, options)
      next = loaded.config
      nextPlans = cameraPlans(next)
      // Rings are sized with the running ring settings (a change there needs a restart, below).
      nextRings = planCameraRings(running.ring, nextPlans, options.configFile)
      currentDir = loaded.configDir
    } catch (error) {
      return refuse(error instanceof Error ? error.message : String(error))
    }
    // One camera and several name their services and series apart (CAMERA.NAME, camera="NAME"): switching renames everything.
    if (nextPlans.length > 1 !== multi) {
      return refuse(`the config goes from ${multi ? 'several cameras to one' : 'one camera to several'}, which renames every service and metric series; restart heart to apply it`)
    }
    result.needsRestart = Object.keys({ ...running, ...next }).filter((key) => !RELOADED_KEYS.has(key) && !sameJson((running as Record<string, unknown>)[key], (next as Record<string, unknown>)[key])).sort()
    const wanted = new Map(nextPlans.filter((p) => p.enabled).map((p) => [p.name, p]))
    for (const camera of [...cameras]) {
      const plan = wanted.get(camera.plan.name)
      if (plan && sameJson(plan, camera.plan)) {
        result.unchanged.push(plan.name)
        continue
      }
      const consumers = plan ? consumersOnlyChange(camera, plan, config.ring.depth) : null
      if (plan && consumers) {
        // Only its consumers changed: those restart; its capture, recorder and other consumers run on.
        await stopConsumers(camera, consumers.stop)
        camera.plan = plan
        try {
          await startConsumers(camera, new Set(consumers.start))
          result.reconfigured.push({ camera: plan.name, consumers: [...new Set([...consumers.stop, ...consumers.start])] })
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error)
          result.failed.push({ camera: plan.name, error: why })
          logger.error('a consumer did not start after the reload; the camera and its other consumers run on', { camera: plan.name, error: why })
        }
        continue
      }
      ;(plan ? result.restarted : result.removed).push(camera.plan.name)
      await closeCamera(camera)
      cameras.splice(cameras.indexOf(camera), 1)
    }
    // Cameras kept stay where they were (the first one keeps the unprefixed paths); new and restarted ones follow, in the file's order.
    for (const plan of wanted.values()) {
      if (result.unchanged.includes(plan.name)) continue
      if (!result.restarted.includes(plan.name)) result.added.push(plan.name)
      let camera: RunningCamera | null = null
      try {
        camera = openCamera(plan, nextRings.get(plan.name)!.slotCount)
        cameras.push(camera)
        await startConsumers(camera)
        startRecorderAndLive(camera, cameras[0] === camera)
        runRecorder.follow({ name: plan.name, ring: camera.capture.ring, metrics: camera.metrics })
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error)
        result.failed.push({ camera: plan.name, error: why })
        logger.error('camera not started after the reload; the other cameras run on', { camera: plan.name, error: why })
        if (camera) {
          await closeCamera(camera).catch(() => undefined)
          cameras.splice(cameras.indexOf(camera), 1)
        }
      }
    }
    plans = nextPlans
    running = { ...running, ...Object.fromEntries(Object.entries(next).filter(([key]) => RELOADED_KEYS.has(key))) } as HeartConfig
    if (multi) exported.splice(1, exported.length - 1, ...cameras.map((c) => ({ registry: c.metrics, labels: { camera: c.plan.name } })))
    http.replaceRoutes(routes())
    if (cameras.length > 0) mqtt?.setCameras(mqttCameras(cameras))
    result.applied = true
    if (result.needsRestart.length > 0) logger.warn('config reload: these sections changed and apply only when heart restarts', { sections: result.needsRestart })
    logger.info('config reloaded', { added: result.added, removed: result.removed, restarted: result.restarted, reconfigured: result.reconfigured, unchanged: result.unchanged, failed: result.failed.map((f) => f.camera) })
    return result
  }
  // One reload at a time; a SIGHUP during one runs one more after it (the file may have changed again).
  let reloading: Promise<ReloadResult> | null = null
  let reloadAgain = false
  const reload = (): Promise<ReloadResult> => {
    if (reloading) {
      reloadAgain = true
      return reloading.then(() => reloading ?? reload())
    }
    systemd?.reloading()
    reloading = applyReload().finally(() => {
      reloading = null
      if (systemd && !stopping) systemd.ready(statusLine(report(), false))
      if (reloadAgain) {
        reloadAgain = false
        void reload()
      }
    })
    return reloading
  }

  if (options.handleSignals) {
    const onSignal = (): void => void stop()
    // SIGHUP (systemctl reload, kill -HUP) reads the config again; its default would end the process with no summary.
    const onHangup = (): void => {
      logger.info('SIGHUP: reloading the config', { file: options.configFile ?? null })
      void reload()
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    process.on('SIGHUP', onHangup)
    void finished.then(() => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.off('SIGHUP', onHangup)
    })
  }
  return {
    get config() {
      return running
    },
    kernel,
    get capture() {
      return cameras[0]?.capture ?? first.capture
    },
    get cameras() {
      return cameras.map((c) => ({ name: c.plan.name, capture: c.capture, metrics: c.metrics }))
    },
    http: address,
    metrics,
    thermal,
    report,
    reload,
    stop,
    finished,
  }
}

/** Config keys a reload applies: the cameras, their consumers and recording. The rest (http, mqtt, ring, ...) need a restart. */
const RELOADED_KEYS = new Set(['source', 'camera', 'consumers', 'record', 'cameras'])

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/** What a reload did, camera by camera. */
export interface ReloadResult {
  /** false: refused (errors says why); nothing was changed. */
  applied: boolean
  errors: string[]
  added: string[]
  removed: string[]
  /** Changed in the file: stopped and started again with the new settings. */
  restarted: string[]
  /** Only consumers changed: these consumers (removed, added or with new options) restarted; the camera's capture and other consumers ran on. */
  reconfigured: Array<{ camera: string; consumers: string[] }>
  /** Not touched: their workers, rings and books run on. */
  unchanged: string[]
  /** Added or changed, but their start failed (the error); the others run. */
  failed: Array<{ camera: string; error: string }>
  /** Top-level sections that changed but are applied only at the next start. */
  needsRestart: string[]
}

/**
 * When only a camera's consumers changed, and the new ones fit what its ring
 * and metrics were laid out for (names it started with, no more of them, no
 * deeper queue): which to stop and which to start. Null: restart the camera.
 */
function consumersOnlyChange(camera: RunningCamera, plan: CameraPlan, defaultDepth: number): { stop: string[]; start: string[] } | null {
  const was = camera.plan
  if (!sameJson({ ...plan, consumers: [] }, { ...was, consumers: [] })) return null
  // Names it started with: no more of them than the ring has places for, each with its metric series.
  if (plan.consumers.some((c) => !camera.ringConsumers.has(c.name))) return null
  if (Math.max(defaultDepth, ...plan.consumers.map((c) => c.depth ?? defaultDepth)) > camera.maxDepth) return null
  const before = new Map(was.consumers.map((c) => [c.name, c]))
  const after = new Map(plan.consumers.map((c) => [c.name, c]))
  const stop = was.consumers.filter((c) => !sameJson(c, after.get(c.name))).map((c) => c.name)
  const start = plan.consumers.filter((c) => !sameJson(c, before.get(c.name))).map((c) => c.name)
  return { stop, start }
}

/** The cameras as the MQTT bridge serves them (their AI-lock). */
function mqttCameras(cameras: readonly RunningCamera[]): Array<{ name: string; aiLock: { set: (locked: boolean) => void; get: () => boolean } }> {
  return cameras.map((c) => ({ name: c.plan.name, aiLock: { set: (locked: boolean) => c.capture.setAiLock(locked), get: () => c.capture.aiLocked } }))
}

/** The service name of a camera's capture worker (CAMERA.capture with several cameras). */
const CAPTURE_SERVICE = 'capture'

/** One started camera and everything `heart run` started for it. */
interface RunningCamera {
  plan: CameraPlan
  capture: CaptureService
  /** Its registry: the run's with one camera, its own with several (exported with camera="NAME"). */
  metrics: MetricsRegistry
  /** Its consumers as started, by name. */
  started: Map<string, StartedConsumer>
  /** The ring consumers its metrics catalogue and frame tracing were laid out for at its start. */
  ringConsumers: ReadonlySet<string>
  /** The deepest queue its ring allows. */
  maxDepth: number
  recorder: RecorderService | null
  live: LiveMp4Service | null
}

/** Health as it was while running, with each camera's consumers' final, drained books. */
function withBooks(running: HealthReport['cameras'], drained: NonNullable<HealthReport['cameras']>): NonNullable<HealthReport['cameras']> {
  const out: NonNullable<HealthReport['cameras']> = { ...running }
  for (const [name, camera] of Object.entries(drained)) if (out[name]) out[name] = { ...out[name]!, consumers: camera.consumers }
  return out
}

/** Paths of the live view's page and files: one set for the whole box, whichever camera's encoder serves them. */
function isPagePath(path: string): boolean {
  return path === '/' || path.startsWith('/live/')
}

/**
 * Every camera's routes under /cameras/NAME/..., and the first camera's
 * under the wave-1 unprefixed paths too (DESIGN.md "HTTP"). Routes that
 * name their camera already (recordings, live.mp4) are mounted as they are.
 */
function cameraRoutes(cameras: readonly RunningCamera[]): HttpRoute[] {
  const routes: HttpRoute[] = []
  const page = new Set<string>()
  for (const [index, camera] of cameras.entries()) {
    const base = `/cameras/${camera.plan.name}`
    routes.push(...camera.capture.routes(camera.plan.name, { unprefixed: index === 0 }))
    for (const route of [...camera.started.values()].flatMap((s) => s.routes ?? [])) {
      if (isPagePath(route.path)) {
        if (!page.has(route.path)) routes.push(route)
        page.add(route.path)
        continue
      }
      routes.push({ ...route, path: `${base}${route.path}` })
      if (index === 0) routes.push(route)
    }
    routes.push(...(camera.recorder?.routes() ?? []), ...(camera.live?.routes({ unprefixed: index === 0 }) ?? []))
  }
  return routes
}

/** A camera's frame tracing: its own trace table and consume log, so its capture worker exports its consumers' spans. */
function frameTracing(telemetry: ReturnType<typeof parseTelemetryConfig>, url: string, camera: string, consumers: string[]): KernelTracing {
  const table = TraceTable.create()
  const consumeLog = ConsumeLog.create()
  const config: WorkerTracingConfig = {
    key: 'traces',
    sampleEvery: telemetry.traces.sampleEvery,
    url,
    headers: telemetry.otlp.headers,
    scheduledDelayMillis: telemetry.traces.exportDelayMs,
    consumeLog: { key: 'consumes', consumers },
    camera,
  }
  return { buffer: table.buffer, config, shared: { consumes: consumeLog.buffer } }
}

/**
 * The packet ring's size for recording: preSeconds of history (a clip's
 * pre-roll) plus one GOP (it starts at the keyframe before) plus slack for a
 * slow disk, at the most the camera is expected to send (index entries for
 * up to 120 frames a second: they are a few dozen bytes each).
 */
function packetRingPlan(record: HeartConfig['record']): { dataBytes: number; indexEntries: number } {
  return packetRingBytes({ bitrateBps: record.maxBitrateMbps * 1e6, seconds: record.preSeconds + record.maxGopSeconds + 2, fps: 120 })
}

/**
 * The packet ring's size when only the live view reads it (recording off),
 * and the fragment ring's: a viewer starts at the latest keyframe, so one GOP
 * plus slack at the most the camera is expected to send.
 */
function livePacketRingPlan(record: HeartConfig['record']): { dataBytes: number; indexEntries: number } {
  return packetRingBytes({ bitrateBps: record.maxBitrateMbps * 1e6, seconds: record.maxGopSeconds + 2, fps: 120 })
}
