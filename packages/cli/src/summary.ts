import { accessSync, constants, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { mb, residentBytes, type Kernel, type HealthReport } from '@heart/kernel'
import type { FrameRing } from '@heart/ring'
import type { Histogram, MetricsRegistry } from '@heart/telemetry'
import { HeartMetric } from './metrics-catalogue.js'
import { usage } from './errors.js'

/**
 * Refuses, at start, a `--summary` file that could not be written at stop: a
 * folder that does not exist, is not a folder, or is not writable (today's
 * alternative is a whole run whose summary is lost when it ends).
 */
export function checkSummaryTarget(file: string): void {
  const path = resolve(file)
  const folder = dirname(path)
  const refuse = (why: string): never => {
    throw usage(`--summary ${file}: ${why}; give a file in a folder heart can write`)
  }
  const folderStat = statOrUndefined(folder)
  if (folderStat === undefined) refuse(`the folder ${folder} does not exist`)
  if (!folderStat!.isDirectory()) refuse(`${folder} is not a folder`)
  const fileStat = statOrUndefined(path)
  if (fileStat?.isDirectory()) refuse(`${path} is a folder`)
  try {
    accessSync(fileStat ? path : folder, constants.W_OK)
  } catch {
    refuse(fileStat ? `${path} cannot be written (permissions)` : `the folder ${folder} cannot be written (permissions)`)
  }
}

/** A path's stat, or undefined when there is nothing there (or a part of the path is a file). */
function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

/** The `--summary` JSON (the contract keys of docs/architecture.md, plus a few more). */
export interface RunSummary {
  duration_s: number
  published: number
  health: HealthReport
  consumers: Record<string, { delivered: number; dropped: Record<string, number>; skipped: Record<string, number> }>
  loop: {
    tick_ms_p50: number
    tick_ms_p99: number
    tick_ms_max: number
    late_ticks: number
    ticks: number
    /** Time spent inside a tick, and how late ticks start against the period. */
    work_ms_p50: number
    work_ms_p99: number
    lateness_ms_p99: number
  }
  latency_ms: {
    receive_to_publish: { p50: number | null; p99: number | null }
    publish_to_consume: { p50: number | null; p99: number | null }
  }
  rss_mb: { start: number; end: number; max: number }
  cpu: { user_ms: number; system_ms: number; percent_of_one_core: number }
  frames_per_s: number
  ring: { slot_count: number; slot_bytes: number; no_slot_drops: number; memory_mb: number }
  /** Every camera's own figures (DESIGN.md); the top-level published, consumers, latency_ms and ring are the first camera's. */
  cameras: Record<string, CameraSummary>
}

export interface CameraSummary {
  published: number
  frames_per_s: number
  consumers: RunSummary['consumers']
  latency_ms: RunSummary['latency_ms']
  ring: RunSummary['ring']
}

/** One camera the run recorder follows: its ring and the registry its latencies are recorded in. */
export interface RecordedCamera {
  name: string
  ring: FrameRing
  metrics: MetricsRegistry
}

interface FollowedCamera {
  name: string
  ring: FrameRing
  startPublished: bigint
  /** When it was followed (the run's start, or the reload that started it). */
  startMs: number
  receiveToPublish: Histogram
  publishToConsume: Histogram
}

function followed(c: RecordedCamera): FollowedCamera {
  return {
    name: c.name,
    ring: c.ring,
    startPublished: c.ring.published(),
    startMs: performance.now(),
    receiveToPublish: c.metrics.histogram(HeartMetric.frameLatency, { stage: 'receive_to_publish' }),
    publishToConsume: c.metrics.histogram(HeartMetric.frameLatency, { stage: 'publish_to_consume' }),
  }
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits

function percentiles(h: Histogram): { p50: number | null; p99: number | null } {
  const s = h.snapshot()
  if (s.count === 0) return { p50: null, p99: null }
  return { p50: round(s.percentile(50)), p99: round(s.percentile(99)) }
}

/** Samples process figures during a run and builds the summary at the end. */
export class RunRecorder {
  private readonly kernel: Kernel
  private readonly cameras: FollowedCamera[]
  /** Cameras a reload stopped: their summary when they stopped. */
  private readonly ended = new Map<string, CameraSummary>()
  private readonly startMs = performance.now()
  private readonly startCpu = process.cpuUsage()
  private readonly startRss = residentBytes()
  private maxRss: number

  /** `ring` and `metrics`: one camera named main (the wave-1 form); or the list of cameras, the first one first. */
  constructor(kernel: Kernel, cameras: FrameRing | readonly RecordedCamera[], metrics?: MetricsRegistry) {
    this.kernel = kernel
    const list: readonly RecordedCamera[] = Array.isArray(cameras) ? cameras : [{ name: 'main', ring: cameras as FrameRing, metrics: metrics! }]
    if (list.length === 0) throw new RangeError('RunRecorder needs at least one camera')
    this.cameras = list.map(followed)
    this.maxRss = this.startRss
  }

  /** A camera a reload started: followed from now on. */
  follow(camera: RecordedCamera): void {
    this.unfollow(camera.name)
    this.cameras.push(followed(camera))
  }

  /** A camera a reload stopped: its figures until now stay in the summary (a camera started again under its name replaces them). */
  unfollow(name: string): void {
    const at = this.cameras.findIndex((c) => c.name === name)
    if (at >= 0) this.ended.set(name, this.cameraSummary(this.cameras.splice(at, 1)[0]!, this.kernel.report(), at === 0))
  }

  private cameraSummary(camera: FollowedCamera, health: HealthReport, first: boolean): CameraSummary {
    const books = health.cameras?.[camera.name]?.consumers ?? (first ? health.consumers : {})
    const consumers: RunSummary['consumers'] = {}
    for (const [name, c] of Object.entries(books)) consumers[name] = { delivered: c.delivered, dropped: c.dropped, skipped: c.skipped }
    const published = Number(camera.ring.published() - camera.startPublished)
    const stats = camera.ring.stats()
    const seconds = (performance.now() - camera.startMs) / 1000
    return {
      published,
      frames_per_s: round(published / seconds, 2),
      consumers,
      latency_ms: { receive_to_publish: percentiles(camera.receiveToPublish), publish_to_consume: percentiles(camera.publishToConsume) },
      ring: { slot_count: stats.slotCount, slot_bytes: stats.slotBytes, no_slot_drops: stats.noSlotDrops, memory_mb: mb(camera.ring.buffer.byteLength) },
    }
  }

  sample(): void {
    const rss = residentBytes()
    if (rss > this.maxRss) this.maxRss = rss
  }

  summary(): RunSummary {
    const durationS = (performance.now() - this.startMs) / 1000
    const health = this.kernel.report()
    const cameras: Record<string, CameraSummary> = Object.fromEntries(this.ended)
    for (const [index, camera] of this.cameras.entries()) cameras[camera.name] = this.cameraSummary(camera, health, index === 0)
    const first = cameras[this.cameras[0]?.name ?? ''] ?? Object.values(cameras)[0]!
    const cpu = process.cpuUsage(this.startCpu)
    return {
      duration_s: round(durationS, 2),
      published: first.published,
      health,
      consumers: first.consumers,
      loop: this.kernel.loop.totals(),
      latency_ms: first.latency_ms,
      rss_mb: { start: mb(this.startRss), end: mb(residentBytes()), max: mb(this.maxRss) },
      cpu: { user_ms: Math.round(cpu.user / 1000), system_ms: Math.round(cpu.system / 1000), percent_of_one_core: round(((cpu.user + cpu.system) / 1e3 / (durationS * 1000)) * 100, 1) },
      frames_per_s: first.frames_per_s,
      ring: first.ring,
      cameras,
    }
  }
}
