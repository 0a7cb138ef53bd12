// Entry file of the capture worker (one per camera), started by the kernel's
// supervisor. It drives the native decoder and publishes into the ring; the
// main thread reads health from shared memory and never waits on it.
import { serveWorker } from '@heart/kernel'
import { FrameRing, PacketRing } from '@heart/ring'
import { MetricsRegistry, startWorkerTracing, type WorkerFrameTracing, type WorkerTracingConfig } from '@heart/telemetry'
import { CaptureMetric } from './metrics.js'
import { runCapture, type CaptureObserver } from './capture-loop.js'
import { CaptureError } from './errors.js'
import { CaptureHealthWriter } from './health-block.js'
import { PacketTap } from './packet-tap.js'
import { nativeOpener } from './native-source.js'
import { openSynthetic } from './synthetic-source.js'
import { reachabilityProbe } from './sources/registry.js'
import { parseSource } from './sources/registry.js'
import type { CaptureWorkerConfig } from './types.js'

/** Rate and percentiles are refreshed this often even without frames, so a dead stream's rate decays. */
const SUMMARY_TICK_MS = 500
const PROBE_TIMEOUT_MS = 1000

serveWorker<CaptureWorkerConfig>(async (ctx) => {
  const { capture } = ctx.config
  const spec = parseSource(capture.source)
  ctx.log.debug('capture worker starting', { source: spec.redacted })
  const ringBuffer = ctx.shared[ctx.config.ringKey]
  const healthBuffer = ctx.shared[ctx.config.healthKey]
  if (!ringBuffer || !healthBuffer) {
    throw new CaptureError('INVALID_CONFIG', `capture worker needs shared buffers "${ctx.config.ringKey}" and "${ctx.config.healthKey}"`)
  }
  const ring = FrameRing.attach(ringBuffer)
  const packetsBuffer = ctx.config.packetsKey === undefined ? undefined : ctx.shared[ctx.config.packetsKey]
  const packets = packetsBuffer ? new PacketTap(PacketRing.attach(packetsBuffer).producer(), ctx.log) : undefined
  const health = new CaptureHealthWriter(healthBuffer)
  const producer = ring.producer()
  // A restarted worker continues a ring that already carried frames: consumers must see a new epoch.
  if (ring.published() > 0n) producer.bumpEpoch()
  // synthetic:// is drawn, not decoded; it goes through the same loop so load
  // tests exercise the same publish path and health.
  const open = spec.kind === 'synthetic' ? openSynthetic : await nativeOpener()
  ctx.log.debug('decoder loaded', { source: spec.redacted })
  const timer = setInterval(() => {
    health.summarize()
    // While the camera is down nothing is published, and publishing is when
    // the ring activates joiners and reclaims dead consumers: do it here too,
    // so a consumer restarted during an outage gets its place back.
    producer.service()
  }, SUMMARY_TICK_MS)
  // Frame tracing, when the main thread handed a trace table over (see @heart/telemetry's WorkerTracingConfig).
  const tracing = startWorkerTracing((ctx.config as { tracing?: WorkerTracingConfig }).tracing, ctx.shared, ctx.name, ctx.log)
  try {
    await runCapture({
      spec,
      config: capture,
      open,
      producer,
      slotBytes: ring.slotBytes,
      health,
      signal: ctx.signal,
      log: ctx.log,
      emit: ctx.emit,
      observer: withFrameTracing(metricsObserver(ctx.config, ctx.shared), tracing, ring),
      probe: reachabilityProbe(spec, PROBE_TIMEOUT_MS),
      ...(packets ? { packets } : {}),
    })
  } finally {
    clearInterval(timer)
    await tracing?.shutdown()
  }
})

/**
 * Adds the sampled frame's journey (frame -> receive, decode, publish spans)
 * to the observer. The observer runs right after commit, so the newest seq is
 * published() - 1 (one producer), and the stamps are rebuilt from the
 * frame's durations back from now.
 */
function withFrameTracing(observer: CaptureObserver | undefined, tracing: WorkerFrameTracing | null, ring: FrameRing): CaptureObserver | undefined {
  const frames = tracing?.frames
  if (!tracing || !frames) return observer
  return {
    ...observer,
    frame(f) {
      observer?.frame?.(f)
      const seq = ring.published() - 1n
      if (!frames.isSampled(seq)) return
      const publishNs = process.hrtime.bigint()
      const receiveNs = publishNs - BigInt(Math.round(f.receiveToPublishMs * 1e6))
      const decodeEndNs = receiveNs + BigInt(Math.round(f.receiveToDecodeMs * 1e6))
      const decodeStartNs = decodeEndNs - BigInt(Math.round(f.decodeMs * 1e6))
      frames.framePublished(seq, receiveNs, decodeStartNs < receiveNs ? receiveNs : decodeStartNs, decodeEndNs, publishNs)
      // Consumers' spans for earlier sampled frames, from the shared consume log (one exporter for all threads).
      tracing.emitConsumeSpans()
    },
  }
}

function metricsObserver(config: CaptureWorkerConfig, shared: Record<string, SharedArrayBuffer>): CaptureObserver | undefined {
  const buffer = config.metrics ? shared[config.metrics.key] : undefined
  if (!config.metrics || !buffer) return undefined
  const registry = MetricsRegistry.attach(buffer, config.metrics.catalogue)
  const published = registry.counter(CaptureMetric.framesPublished)
  const decode = registry.histogram(CaptureMetric.decodeDuration)
  const toDecode = registry.histogram(CaptureMetric.frameLatency, { stage: 'receive_to_decode' })
  const toPublish = registry.histogram(CaptureMetric.frameLatency, { stage: 'receive_to_publish' })
  const errors = registry.counter(CaptureMetric.decodeErrors)
  const firstFrame = registry.gauge(CaptureMetric.decodeFirstFrame)
  const reopens = registry.counter(CaptureMetric.cameraReopens)
  return {
    frame(f) {
      published.add()
      decode.record(f.decodeMs)
      toDecode.record(f.receiveToDecodeMs)
      toPublish.record(f.receiveToPublishMs)
      if (f.firstFrameMs !== undefined) firstFrame.set(f.firstFrameMs)
    },
    decodeErrors: (n) => errors.add(n),
    reopen: () => reopens.add(),
  }
}
