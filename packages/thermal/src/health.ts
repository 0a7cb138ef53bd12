// Thermal health: what the poller counts, as one plain snapshot (the /health "thermal"
// section), and a small shared-memory block so the main thread reads it without waiting
// on the worker.
import { SharedBlock, defineSharedBlock, type SharedBlockOf } from '@heart/ring'
import { THERMAL_LOSS_REASONS, type ThermalLossReason } from '@heart/contracts'
import type { DriftFigures } from './drift.js'

// Why a subpage never became temperatures: the list lives in @heart/contracts.
export { THERMAL_LOSS_REASONS, type ThermalLossReason }

export const THERMAL_STATES = ['starting', 'running', 'reinit', 'cooling', 'failing', 'stopped'] as const
export type ThermalState = (typeof THERMAL_STATES)[number]

// A type alias (not an interface) so it fits the kernel's open-ended ThermalHealth shape.
export type ThermalHealthSnapshot = {
  state: ThermalState
  /** Published 32x24 frames per second over the last few seconds. */
  frames_per_s: number
  published_total: number
  /** Subpages read and turned into temperatures (salvaged ones included). */
  subpages_total: number
  /** Subpages we were too late for whose pixels were still in RAM, used with the next subpage's aux block. */
  subpages_salvaged_total: number
  /** Subpages the sensor measured that we lost, and why. */
  lost_total: number
  loss_ratio: number
  lost_by_reason: Record<ThermalLossReason, number>
  /** Failed reads and inits (each may lose zero, one or several subpages). */
  errors_total: number
  reinits_total: number
  /** Publish ticks with no new data (a stall shows here before loss is known). */
  stale_ticks_total: number
  last_error: { code: string; message: string; age_ms: number } | null
  /** Die temperature, °C, of the newest frame. */
  ta: number | null
  min: number | null
  max: number | null
  mean: number | null
  last_frame_age_ms: number | null
  drift: DriftFigures
  refresh_hz: number
  /** Configured bus clock (device tree or config). */
  bus_hz: number
  /** Bus clock implied by how long RAM reads take (bytes x 9 / time): catches a throttled core clock. */
  bus_hz_effective: number | null
  source: string
}

export function emptyDrift(): DriftFigures {
  return { window_s: 0, ta_c_per_min: 0, mean_c_per_min: 0, mean_offset_c: 0, mean_offset_change_c: 0, flagged: false, reason: null }
}

// ---- The shared block: float64 figures and the texts, declared once by name. ----
const FIELDS = [
  'state',
  'frames_per_s',
  'published_total',
  'subpages_total',
  'subpages_salvaged_total',
  'lost_total',
  'errors_total',
  'reinits_total',
  'stale_ticks_total',
  'last_error_at_ms',
  'ta',
  'min',
  'max',
  'mean',
  'last_frame_at_ms',
  'refresh_hz',
  'bus_hz',
  'bus_hz_effective',
  'drift_window_s',
  'drift_ta',
  'drift_mean',
  'drift_offset',
  'drift_offset_change',
  'drift_flagged',
  ...THERMAL_LOSS_REASONS.map((r) => `lost_${r}`),
] as const
const thermalHealthLayout = defineSharedBlock({
  name: 'thermal health block',
  magic: 0x48544852, // "HTHR"
  version: 1,
  f64: FIELDS,
  strings: { errorCode: 60, errorMessage: 252, driftReason: 124, source: 60 },
  refuse: (problem) => new RangeError(`thermal health block: ${problem}. Create it with createThermalHealthBuffer().`),
})
const F = thermalHealthLayout.f64
export const THERMAL_HEALTH_BYTES = thermalHealthLayout.tailOffset

export interface HealthWriteInput extends Omit<ThermalHealthSnapshot, 'last_error' | 'last_frame_age_ms'> {
  /** Clock time of the last error and the last frame (the reader turns them into ages). */
  lastError: { code: string; message: string; atMs: number } | null
  lastFrameAtMs: number | null
}

/** Worker side: publish the poller's figures into the shared block. */
export class ThermalHealthWriter {
  private readonly block: SharedBlockOf<typeof thermalHealthLayout>

  constructor(readonly buffer: SharedArrayBuffer) {
    this.block = SharedBlock.attach(thermalHealthLayout, buffer)
  }

  write(h: HealthWriteInput): void {
    const block = this.block
    block.beginWrite()
    const f = block.f64
    f[F.state] = THERMAL_STATES.indexOf(h.state)
    f[F.frames_per_s] = h.frames_per_s
    f[F.published_total] = h.published_total
    f[F.subpages_total] = h.subpages_total
    f[F.subpages_salvaged_total] = h.subpages_salvaged_total
    f[F.lost_total] = h.lost_total
    f[F.errors_total] = h.errors_total
    f[F.reinits_total] = h.reinits_total
    f[F.stale_ticks_total] = h.stale_ticks_total
    f[F.last_error_at_ms] = h.lastError ? h.lastError.atMs : NaN
    f[F.ta] = h.ta ?? NaN
    f[F.min] = h.min ?? NaN
    f[F.max] = h.max ?? NaN
    f[F.mean] = h.mean ?? NaN
    f[F.last_frame_at_ms] = h.lastFrameAtMs ?? NaN
    f[F.refresh_hz] = h.refresh_hz
    f[F.bus_hz] = h.bus_hz
    f[F.bus_hz_effective] = h.bus_hz_effective ?? NaN
    f[F.drift_window_s] = h.drift.window_s
    f[F.drift_ta] = h.drift.ta_c_per_min
    f[F.drift_mean] = h.drift.mean_c_per_min
    f[F.drift_offset] = h.drift.mean_offset_c
    f[F.drift_offset_change] = h.drift.mean_offset_change_c
    f[F.drift_flagged] = h.drift.flagged ? 1 : 0
    for (const r of THERMAL_LOSS_REASONS) f[F[`lost_${r}`]] = h.lost_by_reason[r]
    block.writeString('errorCode', h.lastError?.code ?? '')
    block.writeString('errorMessage', h.lastError?.message ?? '')
    block.writeString('driftReason', h.drift.reason ?? '')
    block.writeString('source', h.source)
    block.endWrite()
  }
}

export function createThermalHealthBuffer(): SharedArrayBuffer {
  return SharedBlock.create(thermalHealthLayout).buffer
}

/**
 * Main side: the /health "thermal" section from the shared block, or null before the
 * worker wrote anything. `nowMs` is CLOCK_MONOTONIC in ms (the worker's clock in real mode).
 */
export function thermalHealth(buffer: SharedArrayBuffer, nowMs = Number(process.hrtime.bigint()) / 1e6): ThermalHealthSnapshot | null {
  const block = SharedBlock.attach(thermalHealthLayout, buffer)
  if (!block.written()) return null
  return block.snapshot((b) => readSnapshot(b, nowMs), 100)
}

function readSnapshot(block: SharedBlockOf<typeof thermalHealthLayout>, nowMs: number): ThermalHealthSnapshot {
  const f = block.f64
  const errorCode = block.readString('errorCode')
  const errorMessage = block.readString('errorMessage')
  const driftReason = block.readString('driftReason')
  const num = (v: number): number | null => (Number.isNaN(v) ? null : v)
  const lostByReason = Object.fromEntries(THERMAL_LOSS_REASONS.map((r) => [r, f[F[`lost_${r}`]]!])) as Record<ThermalLossReason, number>
  const lost = f[F.lost_total]!
  const subpages = f[F.subpages_total]!
  const errorAt = num(f[F.last_error_at_ms]!)
  const frameAt = num(f[F.last_frame_at_ms]!)
  return {
    state: THERMAL_STATES[f[F.state]!] ?? 'starting',
    frames_per_s: f[F.frames_per_s]!,
    published_total: f[F.published_total]!,
    subpages_total: subpages,
    subpages_salvaged_total: f[F.subpages_salvaged_total]!,
    lost_total: lost,
    loss_ratio: lost + subpages > 0 ? lost / (lost + subpages) : 0,
    lost_by_reason: lostByReason,
    errors_total: f[F.errors_total]!,
    reinits_total: f[F.reinits_total]!,
    stale_ticks_total: f[F.stale_ticks_total]!,
    last_error: errorAt === null ? null : { code: errorCode, message: errorMessage, age_ms: Math.max(0, nowMs - errorAt) },
    ta: num(f[F.ta]!),
    min: num(f[F.min]!),
    max: num(f[F.max]!),
    mean: num(f[F.mean]!),
    last_frame_age_ms: frameAt === null ? null : Math.max(0, nowMs - frameAt),
    drift: {
      window_s: f[F.drift_window_s]!,
      ta_c_per_min: f[F.drift_ta]!,
      mean_c_per_min: f[F.drift_mean]!,
      mean_offset_c: f[F.drift_offset]!,
      mean_offset_change_c: f[F.drift_offset_change]!,
      flagged: f[F.drift_flagged] === 1,
      reason: driftReason === '' ? null : driftReason,
    },
    refresh_hz: f[F.refresh_hz]!,
    bus_hz: f[F.bus_hz]!,
    bus_hz_effective: num(f[F.bus_hz_effective]!),
    source: block.readString('source'),
  }
}
