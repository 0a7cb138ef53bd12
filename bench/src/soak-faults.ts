// Scripted faults of the soak: each one is started at a planned second, held
// for a while, undone, and then watched until the run has recovered from it.
import type { Kernel } from '@heart/kernel'
import type { Catalogue } from '@heart/telemetry'
import { THERMAL_WORKER_URL, type FaultRates, type ThermalConfig, type ThermalService } from '@heart/thermal'
import { STALL_FLAG_INDEX } from './soak-layout.js'

export const FAULT_KINDS = ['camera_restart', 'consumer_crash', 'stalled_consumer', 'thermal_bus_errors'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface FaultPlan {
  kind: FaultKind
  /** Second of the run (from start) it begins at. */
  atS: number
  /** How long the fault is held before it is undone (0: a one-off event). */
  holdS: number
}

/** What the harness hands the faults to act on. */
export interface FaultContext {
  kernel: Kernel
  /** Supervisor name of the capture worker. */
  captureService: string
  /** The consumer worker the crash fault kills. */
  crashConsumer: string
  /** The bench consumer's stall flag. */
  stallFlag: Int32Array
  /** Restarts the thermal poller with these I²C fault rates ({} for a clean bus). */
  restartThermal(faultRates: FaultRates): Promise<void>
}

/** One second as the recovery watch sees it. */
export interface RecoveryView {
  fps: number
  nominalFps: number
  cameraState: string
  /** Per consumer this second: frames delivered and frames lost. */
  consumers: Record<string, { delivered: number; lost: number }>
  workerState: (name: string) => string
  thermalHz: number | null
  thermalLost: number
}

export interface FaultRecord extends FaultPlan {
  startedS: number | null
  endedS: number | null
  /** First second of two in a row that look healthy again, after the fault ended. */
  recoveredS: number | null
  /** Seconds from the end of the fault to recovery. */
  recoveryS: number | null
  /** What the fault did, measured over its window (filled by the harness). */
  effect: Record<string, unknown>
  error: string | null
}

/** Faults spread over the middle of the run, each with room to recover before the next. */
export function defaultFaultPlan(durationS: number, warmupS: number, kinds: readonly FaultKind[] = FAULT_KINDS): FaultPlan[] {
  const span = durationS - warmupS
  // Held faults last long enough to show (a few seconds even in a short run) and no longer than they need to.
  const hold: Record<FaultKind, number> = {
    camera_restart: 0,
    consumer_crash: 0,
    stalled_consumer: Math.min(10, Math.max(3, span * 0.05)),
    thermal_bus_errors: Math.min(20, Math.max(5, span * 0.08)),
  }
  return kinds.map((kind, i) => ({ kind, atS: Math.round(warmupS + (span * (i + 1.5)) / (kinds.length + 2)), holdS: Math.round(hold[kind]) }))
}

/** I²C fault rates during the thermal fault: a noisy bus (loose cable, long wires at 400 kHz). */
export const THERMAL_FAULT_RATES: FaultRates = Object.freeze({ nack: 0.05, timeout: 0.02, corrupt: 0.02 })

export async function startFault(kind: FaultKind, ctx: FaultContext): Promise<void> {
  switch (kind) {
    case 'camera_restart': {
      // The camera goes away under the decoder: its worker dies and the supervisor brings it back.
      const worker = ctx.kernel.supervisor.worker(ctx.captureService)
      if (!worker) throw new Error(`no running worker "${ctx.captureService}" to restart`)
      await worker.terminate()
      return
    }
    case 'consumer_crash': {
      const worker = ctx.kernel.supervisor.worker(ctx.crashConsumer)
      if (!worker) throw new Error(`no running consumer worker "${ctx.crashConsumer}" to crash`)
      await worker.terminate()
      return
    }
    case 'stalled_consumer':
      Atomics.store(ctx.stallFlag, STALL_FLAG_INDEX, 1)
      return
    case 'thermal_bus_errors':
      await ctx.restartThermal(THERMAL_FAULT_RATES)
      return
  }
}

export async function endFault(kind: FaultKind, ctx: FaultContext): Promise<void> {
  switch (kind) {
    case 'stalled_consumer':
      Atomics.store(ctx.stallFlag, STALL_FLAG_INDEX, 0)
      Atomics.notify(ctx.stallFlag, STALL_FLAG_INDEX)
      return
    case 'thermal_bus_errors':
      await ctx.restartThermal({})
      return
    default:
      // One-off events: the supervisor restarts the worker by itself.
      return
  }
}

/** Does this second look healthy again, as far as this fault is concerned? */
export function healthyAfter(kind: FaultKind, v: RecoveryView, names: { crashConsumer: string; stallConsumer: string }): boolean {
  switch (kind) {
    case 'camera_restart':
      return v.cameraState === 'streaming' && v.fps >= 0.95 * v.nominalFps
    // A consumer is back when it runs and takes (nearly) every frame again; the odd frame lost to a busy
    // machine counts against the drop target in the steady seconds, not against recovery.
    case 'consumer_crash': {
      const c = v.consumers[names.crashConsumer]
      return v.workerState(names.crashConsumer) === 'running' && c !== undefined && c.delivered > 0 && c.lost <= 0.05 * (c.delivered + c.lost)
    }
    case 'stalled_consumer': {
      const c = v.consumers[names.stallConsumer]
      return c !== undefined && c.delivered > 0 && c.lost <= 0.05 * (c.delivered + c.lost)
    }
    case 'thermal_bus_errors':
      return v.thermalHz !== null && v.thermalHz >= 9.5 && v.thermalLost === 0
  }
}

/** Restarts the thermal worker in place (same ring, health block and metrics) with other emulator fault rates. */
export function thermalRestarter(
  kernel: Kernel,
  thermal: ThermalService,
  base: ThermalConfig,
  /** The run's registry buffer and the catalogue it was built from (the restarted worker attaches with the same). */
  metrics: { buffer: SharedArrayBuffer; catalogue: Catalogue },
  restart: { initialMs: number; maxMs: number },
  name = 'thermal',
): (faultRates: FaultRates) => Promise<void> {
  return async (faultRates) => {
    await kernel.supervisor.stop(name, 2000)
    const config: ThermalConfig = { ...base, emulator: { ...base.emulator, faultRates } }
    kernel.startService({
      name,
      entry: THERMAL_WORKER_URL,
      config: { thermal: config, ringKey: 'ring', healthKey: 'health', metrics: { key: 'metrics', catalogue: metrics.catalogue } },
      shared: { ring: thermal.ring.buffer, health: thermal.healthBuffer, metrics: metrics.buffer },
      restart,
    })
  }
}
