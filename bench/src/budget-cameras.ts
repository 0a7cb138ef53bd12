// `heart budget` for a rig of N cameras: each camera's frame ring, packet
// ring, bandwidth, storage and CPU, and the rig's totals. Each camera's own
// figures come from computeBudget (the ring's layout and sizing rules), so one
// camera here is what `heart budget` prints for it alone.
import { availableParallelism } from 'node:os'
import { packetRingBytes } from '@heart/ring'
import { computeBudget, DEFAULT_BUDGET, wireRateMbps, type BudgetConfig, type ThermalBusUse, type WireCodec } from './budget.js'

/**
 * CPU per frame measured on the 2-core development machine (AMD EPYC, KVM,
 * shared with other work), the figures the CPU estimate multiplies by each
 * camera's frame rate:
 * - decode: `nice pnpm heart bench decode --json /tmp/d.json` (docs/bench.md),
 *   (committed as bench/results/decode-1080p60-budget.json),
 *   `heart_no_consumers` `cpu_ms_per_frame` (FFmpeg's decoder plus heart's one
 *   copy into the ring, 1920x1080 at 8 Mbit/s) divided by 2.0736 megapixels;
 *   `raw` is that copy alone (`heart_no_consumers` minus `ffmpeg_cli`).
 * - motion: the movement detector inside the runtime, `cpu_ms_per_frame` of
 *   its `motion detector` log line at 1080p, upper end of 0.70–0.92 ms
 *   (docs/vision.md; it scales the frame down to 320 wide first, so the cost
 *   barely depends on the camera's size).
 * MJPEG is not measured: its cameras get no CPU estimate rather than a guess.
 */
export const MEASURED_CPU_COSTS = {
  // 4.007 ms and 6.558 ms a 1080p frame; raw: 4.007 - 3.603 (ffmpeg_cli) ms. bench/results/decode-1080p60-budget.json.
  decodeMsPerMegapixelFrame: { h264: 1.93, hevc: 3.16, raw: 0.19 } as Partial<Record<WireCodec, number>>,
  motionMsPerFrame: 0.92,
  measuredWith: 'decode: nice pnpm heart bench decode --json bench/results/decode-1080p60-budget.json (heart_no_consumers); motion: the runtime\'s motion detector line, docs/vision.md',
} as const

/** What one camera of a rig is; the rig-wide figures (bandwidth, CMA, thermal) live in RigBudgetOptions. */
export type CameraBudgetConfig = Omit<BudgetConfig, 'memBandwidthMBs' | 'cmaMB' | 'thermalHz'> & {
  /** A config camera name: lower-case letters, digits, `_`. */
  name: string
  /** A movement detector reads every frame (counted in the CPU estimate). */
  motion: boolean
  /** This camera records; absent, as the rig says (RigBudgetOptions.record). */
  record?: boolean
}

export type CameraBudgetInput = Partial<CameraBudgetConfig> & { name: string }

export interface RigBudgetOptions {
  /** Every camera records: the packet ring keeps the pre-roll and storage per hour is counted. */
  record: boolean
  /** Cores the CPU estimate is stated against. */
  cores: number
  memBandwidthMBs: number
  cmaMB: number
  thermalHz: number
}

export const CAMERA_NAME_PATTERN = /^[a-z0-9_]+$/

export interface CameraBudgetRow {
  name: string
  /** bitrateMbps is always set: the given rate, else the codec's estimate. */
  config: CameraBudgetConfig
  bitrate_estimated: boolean
  bytes_per_frame: number
  wire_mbit_s: number
  ring_slots: number
  ring_memory_mb: number
  /** Recording: pre-roll + GOP + 2 s; otherwise GOP + 2 s for the live view, as `heart run` sizes it. */
  packet_ring_mb: number
  /** The one copy (read + write) plus every consumer reading every pixel. */
  memory_traffic_mb_s: number
  /** The wire rate for an hour; 0 when not recording. */
  storage_gb_per_h: number
  /** Decode (with the copy) plus motion; null where the codec's decode is not measured. */
  cpu_ms_per_frame: number | null
  cpu_cores: number | null
}

export interface RigBudget {
  record: boolean
  cameras: CameraBudgetRow[]
  totals: {
    cameras: number
    ring_memory_mb: number
    packet_ring_mb: number
    memory_mb: number
    memory_traffic_mb_s: number
    wire_mbit_s: number
    storage_gb_per_h: number
    /** Over the cameras with a measured codec; see cpu_unmeasured. */
    cpu_cores: number
    cores_available: number
    /** cpu_cores over cores_available (above 1: the rig does not fit). */
    cpu_share: number
    mem_bandwidth_mb_s: number
    /** 1 - memory traffic / usable bandwidth. */
    memory_bandwidth_headroom: number
  }
  /** Cameras whose CPU is not in the estimate (codec not measured). */
  cpu_unmeasured: string[]
  cpu_costs: typeof MEASURED_CPU_COSTS
  /** The one thermal sensor of the box (not per camera). */
  thermal_hz: number
  thermal: ThermalBusUse[]
}

const MB = 1_000_000
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)

/** The per-camera fields of a one-camera config (bandwidth, CMA and the thermal rate are the rig's). */
export function cameraFields<T extends Partial<BudgetConfig>>(config: T): Omit<T, 'memBandwidthMBs' | 'cmaMB' | 'thermalHz'> {
  const { memBandwidthMBs: _bandwidth, cmaMB: _cma, thermalHz: _thermal, ...camera } = config
  return camera
}

/** A camera's defaults: the one-camera budget's, with a movement detector. */
export const DEFAULT_CAMERA: Omit<CameraBudgetConfig, 'name'> = { ...cameraFields(DEFAULT_BUDGET), motion: true }

export const DEFAULT_RIG: RigBudgetOptions = {
  record: false,
  cores: availableParallelism(),
  memBandwidthMBs: DEFAULT_BUDGET.memBandwidthMBs,
  cmaMB: DEFAULT_BUDGET.cmaMB,
  thermalHz: DEFAULT_BUDGET.thermalHz,
}

/** Seconds of stream the packet ring holds: what `heart run` sizes it for (recording: the pre-roll on top). */
export function packetRingSeconds(config: Pick<CameraBudgetConfig, 'preSeconds' | 'gopSeconds'>, record: boolean): number {
  return config.gopSeconds + 2 + (record ? config.preSeconds : 0)
}

/** CPU ms of one frame of this camera, or null when its codec's decode is not measured. */
export function cameraCpuMsPerFrame(config: Pick<CameraBudgetConfig, 'width' | 'height' | 'codec' | 'motion'>): number | null {
  const decode = MEASURED_CPU_COSTS.decodeMsPerMegapixelFrame[config.codec]
  if (decode === undefined) return null
  return (decode * config.width * config.height) / MB + (config.motion ? MEASURED_CPU_COSTS.motionMsPerFrame : 0)
}

/**
 * The budget of a rig: every camera with its own size, rate, format, codec,
 * bitrate, consumers, depth and packet-ring sizing, and the totals. This is
 * what `heart budget --config FILE` hands its `cameras:` to.
 */
export function computeRigBudget(cameras: readonly CameraBudgetInput[], options: Partial<RigBudgetOptions> = {}): RigBudget {
  const rig: RigBudgetOptions = { ...DEFAULT_RIG, ...options }
  if (cameras.length === 0) throw new RangeError('a rig needs at least one camera, got none')
  if (!(Number.isInteger(rig.cores) && rig.cores >= 1)) throw new RangeError(`cores must be a whole number >= 1, got ${rig.cores}`)
  const seen = new Set<string>()
  const rows = cameras.map((input): CameraBudgetRow => {
    if (!CAMERA_NAME_PATTERN.test(input.name)) throw new RangeError(`camera name "${input.name}" may have only lower-case letters, digits and _`)
    if (seen.has(input.name)) throw new RangeError(`camera "${input.name}" is listed twice; each camera needs its own name`)
    seen.add(input.name)
    const config: CameraBudgetConfig = { ...DEFAULT_CAMERA, ...input }
    let one: ReturnType<typeof computeBudget>
    try {
      one = computeBudget({ ...config, memBandwidthMBs: rig.memBandwidthMBs, cmaMB: rig.cmaMB, thermalHz: rig.thermalHz })
    } catch (error) {
      if (error instanceof RangeError) throw new RangeError(`camera "${input.name}": ${error.message}`, { cause: error })
      throw error
    }
    // The unrounded wire rate, so the spreadsheet's inputs and these figures agree to the byte.
    const wireMbps = wireRateMbps(config, one.bytes_per_frame)
    const records = config.record ?? rig.record
    const packet = packetRingBytes({ bitrateBps: wireMbps * 1e6, seconds: packetRingSeconds(config, records), fps: config.fps })
    const cpuMs = cameraCpuMsPerFrame(config)
    return {
      name: input.name,
      config: { ...config, bitrateMbps: wireMbps },
      bitrate_estimated: config.bitrateMbps === undefined,
      bytes_per_frame: one.bytes_per_frame,
      wire_mbit_s: one.wire_mbit_s,
      ring_slots: one.ring_slots,
      ring_memory_mb: one.ring_memory_mb,
      packet_ring_mb: round(packet.dataBytes / MB),
      memory_traffic_mb_s: one.memory_traffic_mb_s,
      storage_gb_per_h: records ? round((wireMbps * 3600) / 8000) : 0,
      cpu_ms_per_frame: cpuMs === null ? null : round(cpuMs, 3),
      cpu_cores: cpuMs === null ? null : round((config.fps * cpuMs) / 1000, 3),
    }
  })
  // Totals are sums of the rounded rows (as the spreadsheet's SUM cells are), rounded again only to drop float noise.
  const total = (pick: (row: CameraBudgetRow) => number, digits = 2): number => round(sum(rows.map(pick)), digits)
  const traffic = total((row) => row.memory_traffic_mb_s)
  const cpu = total((row) => row.cpu_cores ?? 0, 3)
  const ringMb = total((row) => row.ring_memory_mb)
  const packetMb = total((row) => row.packet_ring_mb)
  return {
    record: rig.record,
    cameras: rows,
    totals: {
      cameras: rows.length,
      ring_memory_mb: ringMb,
      packet_ring_mb: packetMb,
      memory_mb: round(ringMb + packetMb),
      memory_traffic_mb_s: traffic,
      wire_mbit_s: total((row) => row.wire_mbit_s),
      storage_gb_per_h: total((row) => row.storage_gb_per_h),
      cpu_cores: cpu,
      cores_available: rig.cores,
      cpu_share: round(cpu / rig.cores, 3),
      mem_bandwidth_mb_s: rig.memBandwidthMBs,
      memory_bandwidth_headroom: round(1 - traffic / rig.memBandwidthMBs, 3),
    },
    cpu_unmeasured: rows.filter((row) => row.cpu_cores === null).map((row) => row.name),
    cpu_costs: MEASURED_CPU_COSTS,
    thermal_hz: rig.thermalHz,
    thermal: computeBudget({ thermalHz: rig.thermalHz }).thermal,
  }
}

const pct = (x: number): string => `${Math.round(x * 100)} %`
const busLabel = (hz: number): string => (hz >= 1_000_000 ? `${hz / 1_000_000} MHz` : `${hz / 1000} kHz`)
const CODEC_LABELS: Record<WireCodec, string> = { h264: 'H.264', hevc: 'H.265', mjpeg: 'MJPEG', raw: 'raw' }

/** The per-camera table and the totals, in 80 columns for up to a dozen cameras with names of 10 characters. */
export function formatRigBudget(b: RigBudget): string {
  const header = ['camera', 'size@fps', 'codec', 'ring MB', 'pkt MB', 'MB/s', 'Mbit/s', 'GB/h', 'cores']
  const cell = (x: number | null, digits = 2): string => (x === null ? 'n/a' : x.toFixed(digits))
  const rows = b.cameras.map((c) => [
    c.name,
    `${c.config.width}x${c.config.height}@${c.config.fps}`,
    c.config.codec,
    cell(c.ring_memory_mb),
    cell(c.packet_ring_mb),
    cell(c.memory_traffic_mb_s),
    cell(c.wire_mbit_s),
    cell(c.storage_gb_per_h),
    cell(c.cpu_cores, 3),
  ])
  const t = b.totals
  rows.push(['total', `${t.cameras} camera${t.cameras === 1 ? '' : 's'}`, '', cell(t.ring_memory_mb), cell(t.packet_ring_mb), cell(t.memory_traffic_mb_s), cell(t.wire_mbit_s), cell(t.storage_gb_per_h), cell(t.cpu_cores, 3)])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  // Names and modes left-aligned, figures right-aligned, two spaces between columns.
  const line = (row: readonly string[]): string => row.map((x, i) => (i < 3 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ').trimEnd()
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  const costs = b.cpu_costs
  const decode = Object.entries(costs.decodeMsPerMegapixelFrame).map(([codec, ms]) => `${CODEC_LABELS[codec as WireCodec]} ${ms}`).join(', ')
  return [
    line(header),
    rule,
    ...rows.slice(0, -1).map(line),
    rule,
    line(rows.at(-1)!),
    '',
    `memory     ${t.ring_memory_mb} MB frame rings + ${t.packet_ring_mb} MB packet rings = ${t.memory_mb} MB`,
    `           (packet rings: GOP + 2 s${b.record ? ' + pre-roll, recording' : ' for the live view; --record adds the pre-roll'})`,
    `bandwidth  ${t.memory_traffic_mb_s} MB/s (each copy into a ring + every consumer reading`,
    `           every pixel), headroom ${pct(t.memory_bandwidth_headroom)} of ${t.mem_bandwidth_mb_s} MB/s`,
    b.record ? `storage    ${t.storage_gb_per_h} GB an hour at the wire rates` : 'storage    not recording (--record counts GB an hour)',
    `CPU        ${t.cpu_cores} cores of ${t.cores_available} (${pct(t.cpu_share)})${t.cpu_share > 1 ? ': does not fit' : ''}`,
    ...(b.cpu_unmeasured.length > 0 ? [`           not counted (MJPEG decode not measured): ${b.cpu_unmeasured.join(', ')}`] : []),
    `           from decode ms per megapixel-frame (${decode})`,
    `           and motion ${costs.motionMsPerFrame} ms a frame, measured: docs/bench.md, heart budget`,
    `thermal    ${b.thermal_hz} Hz uses I2C ${b.thermal.map((u) => `${busLabel(u.bus_hz)} ${pct(u.bus_share)}${u.fits ? '' : ' (too slow)'}`).join(', ')}`,
  ].join('\n')
}
