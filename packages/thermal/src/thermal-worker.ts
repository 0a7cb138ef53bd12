// Entry file of the thermal worker, started by the kernel's supervisor. It runs the poll
// loop against the emulator (default) or a real bus, writes each frame into the thermal
// ring, emits a low-rate `thermal.frame` event, and keeps the shared health block fresh.
import { serveWorker } from '@heart/kernel'
import { FrameRing } from '@heart/ring'
import { MetricsRegistry, type Counter } from '@heart/telemetry'
import { ThermalMetric } from './metrics.js'
import { RealClock } from './clock.js'
import { resolveThermalConfig } from './config.js'
import { Mlx90640 } from './driver.js'
import { Mlx90640Emulator } from './emulator.js'
import { badArgumentError } from './errors.js'
import { ThermalHealthWriter, THERMAL_LOSS_REASONS, type ThermalLossReason } from './health.js'
import { openLinuxI2c } from './linux-transport.js'
import { ThermalPoller } from './poller.js'
import { ThermalAux, thermalFrameLayout, THERMAL_AUX_WORDS } from './ring.js'
import { blobScene } from './scenes.js'
import type { I2cTransport } from './transport.js'
import type { ThermalFrameEvent, ThermalWorkerConfig } from './types.js'

/** Health is refreshed at least this often, so a stalled sensor shows as stalled. */
const HEALTH_TICK_MS = 250

serveWorker<ThermalWorkerConfig>(async (ctx) => {
  const cfg = resolveThermalConfig(ctx.config.thermal)
  const ringBuffer = ctx.shared[ctx.config.ringKey]
  const healthBuffer = ctx.shared[ctx.config.healthKey]
  if (!ringBuffer || !healthBuffer) {
    throw badArgumentError(`thermal worker needs shared buffers "${ctx.config.ringKey}" and "${ctx.config.healthKey}"`)
  }
  const producer = FrameRing.attach(ringBuffer).producer()
  const layout = thermalFrameLayout()
  const health = new ThermalHealthWriter(healthBuffer)
  const clock = new RealClock()
  const transport: I2cTransport =
    cfg.bus === null
      ? new Mlx90640Emulator({
          clock,
          busHz: cfg.busHz,
          address: cfg.address,
          maxReadBytes: cfg.maxReadBytes,
          faultRates: cfg.emulator.faultRates,
          seed: cfg.emulator.seed,
          scene: blobScene({
            backgroundC: cfg.emulator.backgroundC,
            blobC: cfg.emulator.blobC,
            ta: cfg.emulator.ta,
            noiseCounts: cfg.emulator.noiseCounts ?? 1,
            seed: cfg.emulator.seed,
          }),
        })
      : await openLinuxI2c(cfg.bus, { maxReadBytes: cfg.maxReadBytes })
  const source = cfg.bus === null ? 'emulator' : `/dev/i2c-${cfg.bus}`
  const sensor = new Mlx90640(transport, { address: cfg.address, refreshHz: cfg.refreshHz, dataHold: cfg.dataHold, clock })
  const aux = new Float64Array(THERMAL_AUX_WORDS)
  const metrics = recordThermalMetrics(ctx.config, ctx.shared)
  const poller = new ThermalPoller(sensor, {
    hz: cfg.hz,
    emissivity: cfg.emissivity,
    trOffsetC: cfg.trOffsetC,
    reinitAfter: cfg.reinitAfter,
    drift: cfg.drift,
    cooldown: cfg.cooldown,
    source,
    onFrame: (frame) => {
      const slot = producer.beginWrite()
      if (slot) {
        new Float32Array(slot.bytes.buffer, slot.bytes.byteOffset, frame.temps.length).set(frame.temps)
        aux[ThermalAux.TA] = frame.ta
        aux[ThermalAux.MIN] = frame.min
        aux[ThermalAux.MAX] = frame.max
        aux[ThermalAux.MEAN] = frame.mean
        producer.commit(slot, {
          captureTsNs: frame.captureTsNs,
          decodeTsNs: frame.publishTsNs,
          width: layout.width,
          height: layout.height,
          pixFmt: 'grayf32',
          planes: layout.planes,
          aux,
        })
      }
      const event: ThermalFrameEvent = {
        seq: frame.seq,
        tsNs: frame.publishTsNs.toString(),
        ta: round3(frame.ta),
        min: round3(frame.min),
        max: round3(frame.max),
        mean: round3(frame.mean),
      }
      ctx.emit('thermal.frame', event)
      refresh()
    },
  })
  const refresh = (): void => {
    const h = poller.healthInput()
    health.write(h)
    metrics?.(h.subpages_total, h.lost_by_reason)
  }
  const timer = setInterval(refresh, HEALTH_TICK_MS)
  ctx.log.info('thermal started', { source, hz: cfg.hz, refreshHz: cfg.refreshHz, busHz: transport.clockHz })
  try {
    await poller.run(ctx.signal)
  } finally {
    clearInterval(timer)
    refresh()
    await transport.close()
  }
})

/** Adds the growth of the poller's totals to the shared counters (reasons the catalogue lacks are skipped). */
function recordThermalMetrics(
  config: ThermalWorkerConfig,
  shared: Record<string, SharedArrayBuffer>,
): ((subpages: number, lost: Record<ThermalLossReason, number>) => void) | undefined {
  const buffer = config.metrics ? shared[config.metrics.key] : undefined
  if (!config.metrics || !buffer) return undefined
  const registry = MetricsRegistry.attach(buffer, config.metrics.catalogue)
  const frames = registry.counter(ThermalMetric.thermalFrames)
  const lostCounters = new Map<ThermalLossReason, Counter>()
  for (const reason of THERMAL_LOSS_REASONS) {
    try {
      lostCounters.set(reason, registry.counter(ThermalMetric.thermalLost, { reason }))
    } catch {
      // Not in this catalogue (an app's own catalogue without thermalMetrics()): not exported.
    }
  }
  let lastSubpages = 0
  const lastLost = Object.fromEntries(THERMAL_LOSS_REASONS.map((r) => [r, 0])) as Record<ThermalLossReason, number>
  return (subpages, lost) => {
    if (subpages > lastSubpages) frames.add(subpages - lastSubpages)
    lastSubpages = subpages
    for (const reason of THERMAL_LOSS_REASONS) {
      const delta = lost[reason] - lastLost[reason]
      if (delta > 0) lostCounters.get(reason)?.add(delta)
      lastLost[reason] = lost[reason]
    }
  }
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000
