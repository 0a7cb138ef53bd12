// `heart budget`: what a camera configuration costs in bandwidth and memory,
// computed from the same layout and sizing rules the ring uses, so the
// figures match what `heart run` allocates.
import { frameLayout, packetRingBytes, PIXEL_FORMAT_NAMES, requiredSlotCount, type PixelFormatName } from '@heart/ring'
import { busTimeMs, subpageBusMs } from '@heart/thermal'

export type WireCodec = 'h264' | 'hevc' | 'mjpeg' | 'raw'
export const WIRE_CODECS: readonly WireCodec[] = ['h264', 'hevc', 'mjpeg', 'raw']

/**
 * Bits per pixel on the wire when no bitrate is given: typical camera
 * settings (1080p60 H.264 at 8 Mbit/s is 0.064 bit/px; H.265 needs about 60 %
 * of that; MJPEG at quality ~80 about 1.5 bit/px). Estimates: give --bitrate
 * for your camera's real figure.
 */
const BITS_PER_PIXEL: Record<Exclude<WireCodec, 'raw'>, number> = { h264: 0.064, hevc: 0.04, mjpeg: 1.5 }

export const I2C_SPEEDS_HZ = [100_000, 400_000, 1_000_000] as const

export interface BudgetConfig {
  width: number
  height: number
  fps: number
  pixFmt: PixelFormatName
  codec: WireCodec
  /** Mbit/s on the wire; default from BITS_PER_PIXEL. */
  bitrateMbps?: number
  consumers: number
  /** Queue depth of each consumer. */
  depth: number
  /** Leases a consumer may hold at once (ring.maxLeases). */
  leases: number
  /** Consumer places kept free for restarts and tools (ring.spareConsumers). */
  spare: number
  /** Buffers the capture device keeps in DMA (CMA) memory for a raw CSI / V4L2 camera. */
  captureBuffers: number
  /** Thermal frames per second. */
  thermalHz: number
  /** Usable memory bandwidth, MB/s, to state headroom against (measure it: docs/planning/camera_ingest_budget.md). */
  memBandwidthMBs: number
  /** CMA pool size, MB (CmaTotal in /proc/meminfo). */
  cmaMB: number
  /** A clip's longest pre-roll (record.preSeconds): the packet ring keeps that much history. */
  preSeconds: number
  /** The camera's keyframe interval (record.maxGopSeconds): a clip starts at the keyframe before its pre-roll. */
  gopSeconds: number
  /**
   * Each consumer's own queue depth, where they differ (a heart config: each
   * entry's `depth`, else ring.depth); `depth` is then the spare places'.
   * Absent: every consumer has `depth`.
   */
  consumerDepths?: readonly number[]
}

export const DEFAULT_BUDGET: BudgetConfig = {
  width: 1920,
  height: 1080,
  fps: 60,
  pixFmt: 'yuv420p',
  codec: 'h264',
  consumers: 4,
  depth: 2,
  leases: 1,
  spare: 2,
  captureBuffers: 4,
  thermalHz: 10,
  memBandwidthMBs: 3000,
  cmaMB: 256,
  preSeconds: 5,
  gopSeconds: 4,
}

export interface ThermalBusUse {
  bus_hz: number
  ms_per_read: number
  /** Share of the bus time the thermal reads take (above 1: the rate cannot be met). */
  bus_share: number
  fits: boolean
}

export interface Budget {
  config: BudgetConfig
  bytes_per_frame: number
  /** Raw pixels per second the decoder writes into the ring. */
  ring_write_mb_s: number
  /** The one copy (decoder frame -> ring slot: a read and a write) plus every consumer reading every pixel once. */
  memory_traffic_mb_s: number
  wire_mbit_s: number
  /** Raw over wire size: how much the decoder expands the stream. */
  wire_compression: number
  ring_slots: number
  ring_memory_mb: number
  /** The packet ring (compressed stream for recording, clips and passthrough): pre-roll + a GOP + 2 s at the wire rate, as `heart run` sizes it. */
  packet_ring_mb: number
  /** Raw capture buffers in CMA (a CSI / V4L2 camera handing raw frames by DMA). */
  cma_mb: number
  /** Time per frame at this rate: decode, copy and publish must fit well inside it. */
  frame_period_ms: number
  headroom: {
    /** 1 - traffic / usable bandwidth. */
    memory_bandwidth: number
    /** 1 - capture buffers / CMA pool. */
    cma: number
  }
  thermal: ThermalBusUse[]
}

const MB = 1_000_000
const r = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

/** Mbit/s on the wire: the given bitrate, else the codec's estimate (raw: every byte of the ring's frame). */
export function wireRateMbps(c: Pick<BudgetConfig, 'bitrateMbps' | 'codec' | 'width' | 'height' | 'fps'>, bytesPerFrame: number): number {
  if (c.bitrateMbps !== undefined) return c.bitrateMbps
  return c.codec === 'raw' ? (bytesPerFrame * 8 * c.fps) / MB : (BITS_PER_PIXEL[c.codec] * c.width * c.height * c.fps) / MB
}

export function computeBudget(input: Partial<BudgetConfig> = {}): Budget {
  const c: BudgetConfig = { ...DEFAULT_BUDGET, ...input }
  if (!(c.fps > 0)) throw new RangeError(`fps must be above 0, got ${c.fps}`)
  if (!Number.isInteger(c.consumers) || c.consumers < 1) throw new RangeError(`consumers must be a whole number >= 1, got ${c.consumers}`)
  if (!Number.isInteger(c.depth) || c.depth < 1) throw new RangeError(`depth must be a whole number >= 1, got ${c.depth}`)
  if (!(PIXEL_FORMAT_NAMES as readonly string[]).includes(c.pixFmt)) {
    throw new RangeError(`unknown pixel format "${c.pixFmt}"; use one of ${PIXEL_FORMAT_NAMES.join(', ')}`)
  }
  if (!WIRE_CODECS.includes(c.codec)) throw new RangeError(`unknown wire codec "${c.codec}"; use one of ${WIRE_CODECS.join(', ')}`)
  const bytes = frameLayout(c.width, c.height, c.pixFmt).byteLength
  const rawMBs = (bytes * c.fps) / MB
  const wireMbps = wireRateMbps(c, bytes)
  // heart run's rule (planRing): each consumer's own queue and leases, the spare places at the default depth, and the reserve.
  const slots = c.consumerDepths
    ? c.consumerDepths.reduce((n, depth) => n + depth + c.leases, 0) + requiredSlotCount(c.spare, c.depth, c.leases)
    : requiredSlotCount(c.consumers + c.spare, c.depth, c.leases)
  const traffic = rawMBs * (2 + c.consumers)
  const cma = (c.captureBuffers * bytes) / MB
  const thermal = I2C_SPEEDS_HZ.map((hz): ThermalBusUse => {
    // One subpage read per published frame, plus the status polls between them (~1 short read a ms of waiting is not counted:
    // the poller sleeps to the expected ready time and polls a few times).
    const perRead = subpageBusMs(hz) + 4 * busTimeMs(6, hz)
    const share = (c.thermalHz * perRead) / 1000
    return { bus_hz: hz, ms_per_read: r(perRead), bus_share: r(share, 3), fits: share < 0.8 }
  })
  return {
    config: c,
    bytes_per_frame: bytes,
    ring_write_mb_s: r(rawMBs),
    memory_traffic_mb_s: r(traffic),
    wire_mbit_s: r(wireMbps),
    wire_compression: r((rawMBs * 8) / wireMbps, 1),
    ring_slots: slots,
    ring_memory_mb: r((slots * bytes) / MB),
    packet_ring_mb: r(packetRingBytes({ bitrateBps: wireMbps * 1e6, seconds: c.preSeconds + c.gopSeconds + 2, fps: c.fps }).dataBytes / MB),
    cma_mb: r(cma),
    frame_period_ms: r(1000 / c.fps, 3),
    headroom: { memory_bandwidth: r(1 - traffic / c.memBandwidthMBs, 3), cma: r(1 - cma / c.cmaMB, 3) },
    thermal,
  }
}

const pct = (x: number): string => `${Math.round(x * 100)} %`

/** Human-readable budget of one configuration. */
export function formatBudget(b: Budget): string {
  const c = b.config
  const lines = [
    `${c.width}x${c.height} @ ${c.fps} fps, ${c.pixFmt}, ${c.codec} on the wire, ${c.consumers} consumers, depth ${c.depth}`,
    `  bytes per frame        ${b.bytes_per_frame.toLocaleString('en-US')} B (${r(b.bytes_per_frame / MB)} MB)`,
    `  frame period           ${b.frame_period_ms} ms`,
    `  wire                   ${b.wire_mbit_s} Mbit/s (${c.bitrateMbps === undefined && c.codec !== 'raw' ? 'estimate; give --bitrate' : 'given'}), raw/wire ${b.wire_compression}x`,
    `  through the ring       ${b.ring_write_mb_s} MB/s written`,
    `  memory traffic         ${b.memory_traffic_mb_s} MB/s (copy in + ${c.consumers} full reads), headroom ${pct(b.headroom.memory_bandwidth)} of ${c.memBandwidthMBs} MB/s`,
    `  ring                   ${b.ring_slots} slots = ${b.ring_memory_mb} MB (${c.consumers}+${c.spare} consumers x (depth ${c.depth} + ${c.leases} lease) + 2)`,
    `  packet ring            ${b.packet_ring_mb} MB (pre-roll ${c.preSeconds} s + GOP ${c.gopSeconds} s + 2 s at ${b.wire_mbit_s} Mbit/s, with headroom; when recording)`,
    `  CMA for raw capture    ${b.cma_mb} MB (${c.captureBuffers} buffers), headroom ${pct(b.headroom.cma)} of ${c.cmaMB} MB`,
    `  thermal I2C at ${c.thermalHz} Hz   ${b.thermal.map((t) => `${t.bus_hz / 1000} kHz: ${pct(t.bus_share)} of the bus${t.fits ? '' : ' (too slow)'}`).join('; ')}`,
  ]
  return lines.join('\n')
}

export interface StandardRow {
  label: string
  config: Partial<BudgetConfig>
}

/** The configurations docs/planning/camera_ingest_budget.md is generated for. */
export function standardConfigurations(): StandardRow[] {
  const rows: StandardRow[] = []
  const modes: Array<[string, number, number, number]> = [
    ['1080p30', 1920, 1080, 30],
    ['1080p60', 1920, 1080, 60],
    ['720p60', 1280, 720, 60],
    ['4K30', 3840, 2160, 30],
  ]
  for (const [label, width, height, fps] of modes) {
    for (const pixFmt of ['yuv420p', 'nv12', 'rgb24'] as const) rows.push({ label: `${label} ${pixFmt}`, config: { width, height, fps, pixFmt } })
  }
  return rows
}

/** The generated planning page (a markdown document). */
export function budgetMarkdown(base: Partial<BudgetConfig> = {}): string {
  const rows = standardConfigurations().map((s) => ({ s, b: computeBudget({ ...base, ...s.config }) }))
  const d = computeBudget(base).config
  const out: string[] = []
  out.push('# Camera ingest budget')
  out.push('')
  out.push('<!-- Generated by `pnpm heart budget --standard --markdown docs/planning/camera_ingest_budget.md`; edit bench/src/budget.ts, not this file. -->')
  out.push('')
  out.push('What each standard camera configuration costs heart in bandwidth and memory. The figures come from the ring\'s own')
  out.push('frame layout (strides aligned as the ring aligns them) and its slot sizing rule, so the ring memory here is what')
  out.push('`heart run` allocates. For any other configuration run `heart budget` with its flags (`heart budget --help`).')
  out.push('')
  out.push(`Assumptions for every row: ${d.consumers} consumers reading every pixel once, queue depth ${d.depth}, ${d.leases} lease each, ${d.spare} spare consumer places,`)
  out.push(`H.264 on the wire at ${BITS_PER_PIXEL.h264} bit/pixel (8 Mbit/s at 1080p60), ${d.captureBuffers} raw capture buffers in CMA,`)
  out.push(`${d.memBandwidthMBs} MB/s of usable memory bandwidth and a ${d.cmaMB} MB CMA pool (see "Headroom" below for where these come from).`)
  out.push('')
  out.push('| configuration | bytes/frame | period ms | wire Mbit/s | ring write MB/s | memory traffic MB/s | bandwidth headroom | ring slots | ring MB | CMA MB (raw capture) | CMA headroom |')
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const { s, b } of rows) {
    out.push(
      `| ${s.label} | ${b.bytes_per_frame.toLocaleString('en-US')} | ${b.frame_period_ms} | ${b.wire_mbit_s} | ${b.ring_write_mb_s} | ${b.memory_traffic_mb_s} | ${pct(b.headroom.memory_bandwidth)} | ${b.ring_slots} | ${b.ring_memory_mb} | ${b.cma_mb} | ${pct(b.headroom.cma)} |`,
    )
  }
  out.push('')
  out.push('## Thermal camera (MLX90640) bus usage')
  out.push('')
  out.push('One subpage read (RAM: 1664 data bytes plus addressing) per published frame and a few status polls, at 9 bus bits a byte:')
  out.push('')
  out.push('| I²C clock | ms per read | 4 Hz | 8 Hz | 10 Hz | 16 Hz |')
  out.push('|---|---:|---:|---:|---:|---:|')
  for (const hz of I2C_SPEEDS_HZ) {
    const cells = [4, 8, 10, 16].map((t) => {
      const u = computeBudget({ ...base, thermalHz: t }).thermal.find((x) => x.bus_hz === hz)!
      return `${pct(u.bus_share)}${u.fits ? '' : ' ✗'}`
    })
    const ms = computeBudget(base).thermal.find((x) => x.bus_hz === hz)!.ms_per_read
    out.push(`| ${hz / 1000} kHz | ${ms} | ${cells.join(' | ')} |`)
  }
  out.push('')
  out.push('✗: above 80 % of the bus, the rate cannot be held with margin. 100 kHz cannot carry the 10 Hz target at all;')
  out.push('400 kHz carries it with room for retries; 1 MHz (Fast-mode Plus) leaves the most room but needs short, clean wiring')
  out.push('(docs/hardware/camera_cabling.md).')
  out.push('')
  out.push('## How to read it')
  out.push('')
  out.push('- **bytes/frame**: one decoded frame in the ring, planes padded to the ring\'s stride alignment. yuv420p and nv12 are')
  out.push('  1.5 bytes a pixel, rgb24 3: asking the decoder for RGB doubles every figure after it.')
  out.push('- **ring write MB/s**: the one copy heart makes (decoder frame into a ring slot). Consumers read slots in place.')
  out.push('- **memory traffic MB/s**: that copy read and written, plus each consumer reading the whole frame once. Consumers that')
  out.push('  read only the luma plane at a reduced scale (the movement detector) or skip frames by a rate cap (the detection')
  out.push('  client at 5 fps) cost much less: this column is the upper bound.')
  out.push('- **ring slots / ring MB**: `(consumers + spare) × (depth + leases) + 2` slots, allocated once at start (with')
  out.push('  per-consumer depths, `heart run` sums each consumer\'s own `depth + leases` instead). Raising the')
  out.push('  queue depth buys tolerance to consumer stalls at the cost of memory: each step of depth adds')
  out.push(`  \`consumers + spare\` slots.`)
  out.push('- **CMA MB**: only for cameras that DMA raw frames into kernel buffers (a CSI camera through libcamera / V4L2, or a')
  out.push('  USB camera in a raw mode). RTSP and compressed USB modes use ordinary memory. See docs/hardware/rpi_device_tree.md.')
  out.push('')
  out.push('## Headroom')
  out.push('')
  out.push(`The bandwidth headroom is stated against ${d.memBandwidthMBs} MB/s, an assumed usable copy bandwidth for a Raspberry Pi 4 class`)
  out.push('board; it is not measured here. Measure your board (for example `sysbench memory --memory-block-size=1M --memory-total-size=10G run`')
  out.push('or a large `memcpy` loop) and pass `--mem-bw MB/s`. Keep traffic under about half of it: the decoder\'s own reference-frame')
  out.push('traffic is not in these figures and can be as large again.')
  out.push('')
  out.push(`The CMA headroom is stated against a ${d.cmaMB} MB pool; read yours with \`grep Cma /proc/meminfo\` and pass \`--cma-mb\`.`)
  out.push('')
  out.push('## Many cameras')
  out.push('')
  out.push('One heart serves several cameras, each with its own frame ring, packet ring and consumers. The budget of a rig,')
  out.push('per camera and in total (frame and packet rings, bandwidth, storage an hour when recording, and a CPU estimate):')
  out.push('')
  out.push('```')
  out.push('pnpm -s heart budget --cameras 4 --fps 30                                    # 4 identical cameras')
  out.push('pnpm -s heart budget --camera front:1920x1080@30:h264 --camera rear:1280x720@30 --record')
  out.push('pnpm -s heart budget --cameras 4 --fps 30 --record --cores 2 --xlsx docs/planning/camera_ingest_budget.xlsx')
  out.push('```')
  out.push('')
  out.push('The CPU estimate is the sum over the cameras of fps × (decode ms per megapixel-frame × megapixels + the movement')
  out.push('detector\'s ms a frame), against the machine\'s cores (`--cores N` for another board). The costs were measured on the')
  out.push('2-core development machine (`MEASURED_CPU_COSTS` in bench/src/budget-cameras.ts names the commands; decode from')
  out.push('`heart bench decode`, bench/results/decode-1080p60-budget.json); on a slower board scale them or change them in')
  out.push('the spreadsheet. MJPEG decoding is not measured, so an MJPEG camera gets no CPU figure rather than a guess.')
  out.push('')
  out.push('[camera_ingest_budget.xlsx](camera_ingest_budget.xlsx) is the standard rig, four 1080p30 H.264 cameras recording,')
  out.push('written by the last command above. Its yellow cells are inputs (cores, bandwidth, recording; the measured costs; per')
  out.push('camera its size, rate, bytes a pixel, codec, consumers, depth, leases, spare places, bitrate, pre-roll, GOP, motion)')
  out.push('and every other cell is a formula over them, so changing a size, a rate or a depth, or inserting a camera row,')
  out.push('moves the totals. The bitrate is an input: it does not follow a change of size or rate by itself.')
  out.push('')
  return out.join('\n')
}
