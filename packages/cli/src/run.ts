import { writeFile } from 'node:fs/promises'
import { Kernel, markNotGreen, type HealthReport, type Logger } from '@heart/kernel'
import { CaptureService, parseSource, type CaptureSupervisor } from '@heart/capture'
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
  type OtlpMetricsHandle,
  type WorkerTracingConfig,
} from '@heart/telemetry'
import { loadCheckedConfig, type ConfigOverrides, type HeartConfig } from './config.js'
import { HeartMetric, heartMetricsCatalogue } from './metrics-catalogue.js'
import { startConsumerKind, type StartedConsumer } from './consumer-kinds.js'
import { startThermal, type ThermalConfig } from '@heart/thermal'
import { HttpServer, jsonRoute } from './http-server.js'
import { resolveHttpSecurity } from './http/security.js'
import { StatusPrinter, statusLine } from './status-line.js'
import { systemdNotifier } from './systemd.js'
import { heartVersion } from './version.js'
import { RunRecorder, checkSummaryTarget, type RunSummary } from './summary.js'
import { checkRingMemory, planRing } from './ring-memory.js'
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
  capture: CaptureService
  /** Where HTTP listens (port 0 in the config picks a free one), and whether it speaks TLS. */
  http: { host: string; port: number; tls: boolean }
  /** The shared metrics registry (latency, decode and tick histograms): the soak bench samples it. */
  metrics: MetricsRegistry
  /** The thermal service, or null when thermal is disabled. */
  thermal: ReturnType<typeof startThermal> | null
  report(): HealthReport
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
  const consumers = config.consumers.filter((c) => c.enabled)
  // Before anything starts: an unprotected non-loopback address or unreadable TLS files stop here.
  const security = resolveHttpSecurity(config.http, options.env ?? process.env, configDir)
  const spec = parseSource(config.source)
  // Before anything starts: a summary that could not be written at stop, a ring the machine cannot hold.
  if (options.summaryFile) checkSummaryTarget(options.summaryFile)
  const ringPlan = planRing(config, consumers)
  checkRingMemory(ringPlan, config, consumers, options.configFile ?? 'built-in defaults')

  // The MLX90640: the emulator unless a bus is configured; `thermal: { enabled: false }` turns it off.
  const thermalConfig = (config.thermal ?? {}) as ThermalConfig
  const thermalEnabled = thermalConfig.enabled !== false
  // A raw capture joins the camera ring for a while (a spare place) and has books like any consumer.
  const ringConsumers = [...consumers.map((c) => c.name), ...(config.record.enabled ? [RAW_CAPTURE_CONSUMER] : [])]
  const catalogue = heartMetricsCatalogue({ consumers: ringConsumers, thermal: thermalEnabled, workers: [...(config.record.enabled ? [recorderServiceName('main')] : []), ...(config.http.livePassthrough ? [liveMp4ServiceName('main')] : [])], recording: config.record.enabled ? ['main'] : [] })
  const metrics = MetricsRegistry.create(catalogue)
  // Frame tracing: the capture worker and every consumer share one table of sampled frames' trace context.
  const tracesUrl = otlpTracesUrl(telemetry)
  const traceTable = tracesUrl === null ? null : TraceTable.create()
  // Consumers hand their span timings to the capture worker through this, so only one thread runs an exporter.
  const consumeLog = tracesUrl === null ? null : ConsumeLog.create()
  const workerTracing: WorkerTracingConfig | null =
    tracesUrl === null
      ? null
      : {
          key: 'traces',
          sampleEvery: telemetry.traces.sampleEvery,
          url: tracesUrl,
          headers: telemetry.otlp.headers,
          scheduledDelayMillis: telemetry.traces.exportDelayMs,
          consumeLog: { key: 'consumes', consumers: consumers.map((c) => c.name) },
        }
  const kernel = new Kernel({
    loop: config.loop,
    health: config.health,
    supervisor: config.supervisor,
    logger,
    tickIntervalHistogram: metrics.histogram(HeartMetric.loopTickInterval),
    tickDurationHistogram: metrics.histogram(HeartMetric.loopTickDuration),
    metrics: { buffer: metrics.buffer, catalogue },
    metricsUpkeepMs: telemetry.enabled ? telemetry.upkeepMs : 0,
    ...(traceTable && workerTracing && consumeLog ? { tracing: { buffer: traceTable.buffer, config: workerTracing, shared: { consumes: consumeLog.buffer } } } : {}),
  })
  // The capture worker gets the trace table through its service spec (CaptureService passes its own buffers).
  const captureSupervisor: CaptureSupervisor =
    traceTable && workerTracing && consumeLog
      ? {
          start: (spec) =>
            kernel.supervisor.start({ ...spec, config: { ...spec.config, tracing: workerTracing }, shared: { ...spec.shared, traces: traceTable.buffer, consumes: consumeLog.buffer } }),
          stop: (name, timeoutMs) => kernel.supervisor.stop(name, timeoutMs),
        }
      : kernel.supervisor

  const maxDepth = Math.max(config.ring.depth, ...consumers.map((c) => c.depth ?? config.ring.depth))
  const { slotCount } = ringPlan
  const capture = CaptureService.start(
    captureSupervisor,
    { ...config.camera, source: config.source },
    {
      ring: {
        maxConsumers: consumers.length + config.ring.spareConsumers,
        defaultDepth: config.ring.depth,
        maxDepth,
        maxLeases: config.ring.maxLeases,
        slotCount,
      },
      metrics: { buffer: metrics.buffer, catalogue },
      restart: { initialMs: config.supervisor.restartInitialMs, maxMs: config.supervisor.restartMaxMs },
      ...(config.record.enabled ? { packets: packetRingPlan(config.record) } : config.http.livePassthrough ? { packets: livePacketRingPlan(config.record) } : {}),
    },
  )
  kernel.addRing('camera', capture.ring)
  kernel.setCameraHealth(() => capture.health())

  let thermal: ReturnType<typeof startThermal> | null = null
  if (thermalEnabled) {
    try {
      thermal = startThermal(kernel, thermalConfig, {
        metrics: { buffer: metrics.buffer, catalogue },
        restart: { initialMs: config.supervisor.restartInitialMs, maxMs: config.supervisor.restartMaxMs },
      })
    } catch (error) {
      await Promise.all([capture.stop(), kernel.stop()])
      throw error
    }
  }

  const started: StartedConsumer[] = []
  try {
    for (const c of consumers) {
      started.push(await startConsumerKind(c, { kernel, ring: 'camera', synthetic: spec.kind === 'synthetic', thermalRing: thermal?.ring ?? null, configDir }))
    }
  } catch (error) {
    await Promise.all([capture.stop(), kernel.stop()])
    throw error
  }
  // The recorder and the live view's muxer start after the consumers (workers start one after another, and
  // these two do not need the first seconds: the recorder reaches back into the packet ring's history).
  // The one camera is named `main` until `cameras:` exists (DESIGN.md "Cameras and sources").
  const recorder = config.record.enabled && capture.packets
    ? RecorderService.start(kernel, {
        camera: 'main',
        config: config.record,
        root: recordRoot(config.record, configDir),
        packets: capture.packets,
        frames: capture.ring,
        pixFmt: config.camera.pixFmt,
        metrics: { buffer: metrics.buffer, catalogue },
        restart: { initialMs: config.supervisor.restartInitialMs, maxMs: config.supervisor.restartMaxMs },
      })
    : null
  // The passthrough live view (GET /cameras/main/live.mp4): its worker muxes only while someone watches.
  const live = config.http.livePassthrough && capture.packets
    ? LiveMp4Service.start(kernel, { camera: 'main', packets: capture.packets, fragmentRing: livePacketRingPlan(config.record), unprefixed: true, restart: { initialMs: config.supervisor.restartInitialMs, maxMs: config.supervisor.restartMaxMs } })
    : null
  let mqtt: MqttBridge | null = null
  const report = (): HealthReport => {
    const base = kernel.report()
    for (const s of started) if (s.health) Object.assign(base, s.health())
    if (recorder) {
      ;(base as HealthReport & { recorder?: unknown }).recorder = recorder.health()
      const trouble = recorder.trouble()
      if (trouble) markNotGreen(base, trouble)
    }
    if (mqtt) {
      ;(base as HealthReport & { mqtt?: unknown }).mqtt = mqtt.health()
      const trouble = mqtt.trouble()
      if (trouble) markNotGreen(base, trouble)
    }
    if (live) (base as HealthReport & { live_mp4?: unknown }).live_mp4 = live.stats()
    return base
  }

  const runRecorder = new RunRecorder(kernel, capture.ring, metrics)
  kernel.loop.every(1000, () => runRecorder.sample())

  const http = new HttpServer(logger, { security, limits: config.http.limits, allowedHosts: config.http.allowedHosts })
  http.add([jsonRoute('/health', report), prometheusRoute(metrics, { runtime: { version: heartVersion() } }), ...capture.routes(), ...started.flatMap((s) => s.routes ?? []), ...(recorder?.routes() ?? []), ...(live ? [...live.routes(), clockRoute()] : [])])
  let address: RunningHeart['http']
  try {
    const a = await http.listen(config.http.host, config.http.port)
    address = { host: a.address, port: a.port, tls: security.tls !== null }
  } catch (error) {
    await Promise.all([capture.stop(), kernel.stop()])
    throw error
  }
  kernel.start()
  // After the kernel: the bridge subscribes to its events; it never holds the start up waiting for a broker.
  mqtt = config.mqtt.url === undefined ? null : MqttBridge.start({ config: config.mqtt, events: kernel, health: report, aiLock: { set: (locked) => capture.setAiLock(locked), get: () => capture.aiLocked }, logger, env: options.env ?? process.env, thermalRing: thermal?.ring ?? null })
  const metricsUrl = otlpMetricsUrl(telemetry)
  const otlpMetrics: OtlpMetricsHandle | null =
    metricsUrl === null ? null : startOtlpMetrics(metrics, { url: metricsUrl, headers: telemetry.otlp.headers, intervalMs: telemetry.otlp.metricsIntervalMs, log: logger })
  if (metricsUrl !== null || tracesUrl !== null) {
    // URLs only: headers may hold credentials.
    logger.info('telemetry export', { metrics: metricsUrl, traces: tracesUrl, sample_every: tracesUrl === null ? null : telemetry.traces.sampleEvery })
  }
  if (security.openToNetwork) logger.warn('HTTP serves every machine that can reach the port, with no token (http.auth: none): anyone there can switch the AI-lock; see docs/security.md', { host: address.host, port: address.port })
  const urlHost = address.host.includes(':') ? `[${address.host}]` : address.host
  logger.info('heart running', { source: spec.redacted, http: `${address.tls ? 'https' : 'http'}://${urlHost}:${address.port}`, auth: security.token ? 'token' : 'none', consumers: consumers.map((c) => c.name) })

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
      await capture.stop(config.supervisor.stopTimeoutMs)
      await drainConsumers(capture.ring, 1000)
      // ...with the consumers' final, drained books.
      const summary = runRecorder.summary()
      summary.health = { ...running, consumers: summary.health.consumers }
      for (const s of started) s.stop?.()
      live?.close()
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
  if (options.handleSignals) {
    const onSignal = (): void => void stop()
    // SIGHUP's default is to end the process with no summary (a closed terminal, a service manager's reload).
    // Until reloading the config exists, it is logged and ignored.
    const onHangup = (): void => logger.warn('SIGHUP: reloading the config is not supported yet; ignoring it (SIGTERM or SIGINT stops heart)')
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    process.on('SIGHUP', onHangup)
    void finished.then(() => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.off('SIGHUP', onHangup)
    })
  }
  return { config, kernel, capture, http: address, metrics, thermal, report, stop, finished }
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
