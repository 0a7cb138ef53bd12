// `heart bench pool`: do motion consumers of several cameras cost less on a
// piscina pool sized to the cores than on a thread per camera (what `heart
// run` does)? N cameras are N frame rings fed at 1080p30 by one producer
// thread; every frame of every camera goes through the real movement
// detector (@heart/vision's MotionDetector on the luma plane, in place),
// consumed in one of three ways:
//   threads: one worker thread per camera, each a ring consumer (heart today);
//   piscina: a dispatcher in the main thread holds each camera's frame and
//            submits it by slot to a pool of os.availableParallelism() threads;
//   shared:  one worker thread serving every camera's consumer (bounded
//            threads without a pool's messages).
// Modes alternate within each round (A, B, C, A, B, C, ...) so a load change
// on a shared machine hits every mode alike; the figures are medians over
// rounds. CPU is read from /proc for the whole process and for each thread.
import { availableParallelism } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { UsageError } from '@heart/cli'
import { FrameRing } from '@heart/ring'
import { Piscina } from 'piscina'
import { medianByName, spread, threadShares } from './cpu.js'
import { processCpuMs, threadTimes } from './proc.js'
import {
  CONSUMER_STOP,
  CONTROL_BYTES,
  controlWords,
  countFrame,
  FRAME_LAYOUT,
  MOTION_CONSUMER,
  MOTION_NAME,
  PRODUCER_STOP,
  setMeasureFrom,
  WAIT_MS,
  WARM_UP_TASK,
  type CameraCounts,
  type MotionTask,
  type MotionTaskDone,
  type ProducerDone,
} from './pool-protocol.js'
import { loadAverage, machine, median, percentile, round, table, writeReport, type BenchReport } from './report.js'

export const POOL_MODES = ['threads', 'piscina', 'shared'] as const
export type PoolMode = (typeof POOL_MODES)[number]
/** Cameras the ring's consumer places and the status line are sized for. */
const MAX_CAMERAS = 16
/** How long the consumers get to take what is queued once the producer stopped. */
const DRAIN_MS = 5000
/**
 * The event-loop delay monitor's timer period. Its histogram holds the
 * whole interval between two turns of that timer, so the period is taken
 * off: what is left is how late the main thread ran it.
 */
const LOOP_SAMPLE_MS = 5

export interface PoolBenchOptions {
  /** Measured seconds per mode and round, after the warm-up (default 30). */
  seconds?: number
  /** Rounds; each runs every mode once (default 2). */
  rounds?: number
  /** Cameras, each a ring at 1080p30 (default 4). */
  cameras?: number
  /** The modes to compare (default all). */
  modes?: readonly PoolMode[]
  /** Seconds each mode runs before it is measured (default 2). */
  warmupS?: number
  json?: string
  log?: (line: string) => void
}

/** `--modes`: comma-separated mode names. */
export function parsePoolModes(value: string | undefined): PoolMode[] | undefined {
  if (value === undefined) return undefined
  const modes = value.split(',')
  for (const mode of modes) {
    if (!(POOL_MODES as readonly string[]).includes(mode)) throw new UsageError(`--modes: unknown mode "${mode}"; use any of ${POOL_MODES.join(', ')}`)
  }
  return [...new Set(modes)] as PoolMode[]
}

/** One mode's figures in one round. */
interface ModeRun {
  counts: CameraCounts[]
  published: number[]
  noSlot: number[]
  /** Frames the ring dropped for the motion consumer, by camera. */
  lost: number[]
  /** Of those, the ones dropped during the warm-up. */
  lostInWarmUp: number[]
  cpuPercent: number
  /** Per cent of one core by thread name. */
  threads: Map<string, number>
  threadCount: number
  loopDelayP99Ms: number
  load1: number
}

/** The consumers of one mode, joined to every ring; stop() ends them and returns their counts. */
interface ConsumerSide {
  stop(): Promise<CameraCounts[]>
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The next message of a worker; fails if it dies first. */
function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
    }
    const onMessage = (m: T): void => (done(), resolve(m))
    const onError = (e: Error): void => (done(), reject(e))
    const onExit = (code: number): void => (done(), reject(new Error(`bench worker exited with code ${code} before it answered`)))
    worker.on('message', onMessage)
    worker.once('error', onError)
    worker.once('exit', onExit)
  })
}

/** Consumer threads, each serving the cameras of one group. */
async function startConsumerThreads(rings: FrameRing[], control: SharedArrayBuffer, groups: number[][], names: string[]): Promise<ConsumerSide> {
  const workers = groups.map(
    (cameras, i) =>
      new Worker(new URL('./pool-consumer.js', import.meta.url), {
        workerData: { rings: cameras.map((c) => rings[c]!.buffer), cameras, control, threadName: names[i] },
        name: names[i],
      }),
  )
  await Promise.all(workers.map((w) => nextMessage<'ready'>(w)))
  return {
    async stop() {
      const answers = workers.map((w) => nextMessage<CameraCounts[]>(w))
      Atomics.store(controlWords(control), CONSUMER_STOP, 1)
      const counts = (await Promise.all(answers)).flat()
      await Promise.all(workers.map((w) => w.terminate()))
      return counts.sort((a, b) => a.camera - b.camera)
    },
  }
}

/** The piscina mode: the main thread holds each camera's frame while a pool thread runs motion on its slot. */
async function startPiscina(rings: FrameRing[], control: SharedArrayBuffer, threads: number): Promise<ConsumerSide> {
  const pool = new Piscina<MotionTask, MotionTaskDone>({
    filename: new URL('./pool-task.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
    workerData: { rings: rings.map((r) => r.buffer), control },
  })
  // Until every thread has loaded the task module, the first frames would wait for it: the threads mode joins its rings only once loaded, too.
  await Promise.all(Array.from({ length: threads * 4 }, () => pool.run({ camera: WARM_UP_TASK, slot: 0, luma: FRAME_LAYOUT.planes[0]! })))
  const words = controlWords(control)
  const dispatch = async (ring: FrameRing, camera: number): Promise<CameraCounts> => {
    const consumer = ring.consumer(MOTION_NAME, MOTION_CONSUMER)
    const counts: CameraCounts = { camera, processed: 0, latencyUs: [], withMotion: 0, threadSwitches: 0 }
    let lastThread = -1
    while (Atomics.load(words, CONSUMER_STOP) === 0) {
      const frame = await consumer.acquireAsync(WAIT_MS)
      if (!frame) continue
      const publishTsNs = frame.publishTsNs
      const done = await pool.run({ camera, slot: frame.slot, luma: frame.planes[0]! })
      // Released only now: the held lease is what keeps the producer off the slot while the pool thread reads it.
      consumer.release(frame)
      countFrame(counts, control, publishTsNs, done.doneNs, done.boxes)
      if (lastThread !== -1 && done.thread !== lastThread) counts.threadSwitches++
      lastThread = done.thread
    }
    consumer.leave()
    return counts
  }
  // Each camera joins its ring synchronously here, before the producer starts.
  const loops = rings.map((ring, camera) => dispatch(ring, camera))
  return {
    async stop() {
      Atomics.store(words, CONSUMER_STOP, 1)
      const counts = await Promise.all(loops)
      await pool.destroy()
      return counts
    },
  }
}

function startConsumers(mode: PoolMode, rings: FrameRing[], control: SharedArrayBuffer): Promise<ConsumerSide> {
  const cameras = rings.map((_, i) => i)
  switch (mode) {
    case 'threads':
      return startConsumerThreads(rings, control, cameras.map((c) => [c]), cameras.map((c) => `motion_${c}`))
    case 'shared':
      return startConsumerThreads(rings, control, [cameras], ['motion_shared'])
    case 'piscina':
      return startPiscina(rings, control, availableParallelism())
  }
}

/** The motion consumer's books in a ring: frames queued, held, and dropped for it. */
function motionBooks(ring: FrameRing): { lag: number; leases: number; dropped: number } {
  const c = ring.stats().consumers.find((s) => s.name === MOTION_NAME)
  if (!c) throw new Error(`no ${MOTION_NAME} consumer in the ring`)
  return { lag: c.lag, leases: c.leases, dropped: Number(Object.values(c.dropped).reduce((a, b) => a + b, 0n)) }
}

/** Waits until every motion consumer has taken and released what was queued (or DRAIN_MS passed). */
async function drained(rings: FrameRing[]): Promise<void> {
  const end = performance.now() + DRAIN_MS
  while (performance.now() < end && rings.some((r) => ((b) => b.lag > 0 || b.leases > 0)(motionBooks(r)))) await sleep(20)
}

async function runMode(mode: PoolMode, o: { cameras: number; seconds: number; warmupS: number }): Promise<ModeRun> {
  const rings = Array.from({ length: o.cameras }, () => FrameRing.create({ slotBytes: FRAME_LAYOUT.byteLength, maxConsumers: 2, defaultDepth: 1, maxLeases: 1 }))
  const control = new SharedArrayBuffer(CONTROL_BYTES)
  const words = controlWords(control)
  const consumers = await startConsumers(mode, rings, control)
  const producer = new Worker(new URL('./pool-producer.js', import.meta.url), { workerData: { rings: rings.map((r) => r.buffer), control }, name: 'feed' })
  try {
    await nextMessage<'ready'>(producer)
    const producerDone = nextMessage<ProducerDone>(producer)
    await sleep(o.warmupS * 1000)
    const pid = process.pid
    setMeasureFrom(control, process.hrtime.bigint())
    const lostInWarmUp = rings.map((r) => motionBooks(r).dropped)
    const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS })
    loop.enable()
    const [cpu0, threads0] = [await processCpuMs(pid), await threadTimes(pid)]
    const t0 = performance.now()
    await sleep(o.seconds * 1000)
    const [cpu1, threads1] = [await processCpuMs(pid), await threadTimes(pid)]
    const seconds = (performance.now() - t0) / 1000
    loop.disable()
    Atomics.store(words, PRODUCER_STOP, 1)
    Atomics.notify(words, PRODUCER_STOP)
    const fed = await producerDone
    await drained(rings)
    const lost = rings.map((r) => motionBooks(r).dropped)
    const counts = await consumers.stop()
    return {
      counts,
      published: fed.published,
      noSlot: fed.noSlot,
      lost,
      lostInWarmUp,
      cpuPercent: (cpu1 - cpu0) / (seconds * 10),
      threads: threadShares(threads0, threads1, pid, seconds),
      threadCount: threads1.length,
      loopDelayP99Ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_SAMPLE_MS),
      load1: Number(loadAverage().split(' ')[0]),
    }
  } finally {
    await producer.terminate()
  }
}

/** The consumers' own threads (not the main thread, not the producer). */
const isConsumerThread = (name: string): boolean => name.startsWith('motion_') || name.startsWith('pool_')

function sumWhere(shares: Map<string, number>, wanted: (name: string) => boolean): number {
  let sum = 0
  for (const [name, share] of shares) if (wanted(name)) sum += share
  return sum
}

const total = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)

function summarise(runs: ModeRun[], cameras: number): BenchReport['results'] {
  const latencyRuns = runs.map((r) => r.counts.flatMap((c) => c.latencyUs))
  const perCamera = (pick: (r: ModeRun, camera: number) => number): number[] => Array.from({ length: cameras }, (_, c) => total(runs.map((r) => pick(r, c))))
  const published = perCamera((r, c) => r.published[c]!)
  const processedByCamera = perCamera((r, c) => r.counts[c]!.processed)
  const lost = perCamera((r, c) => r.lost[c]!)
  const lostInWarmUp = perCamera((r, c) => r.lostInWarmUp[c]!)
  const notPublished = perCamera((r, c) => r.noSlot[c]!)
  const mode: Record<string, number | string | null> = {
    frames_published: total(published),
    frames_processed: total(processedByCamera),
    frames_lost: total(lost),
    frames_lost_per_camera: lost.join(' '),
    frames_lost_in_warm_up: total(lostInWarmUp),
    frames_not_published: total(notPublished),
    frames_with_motion_percent: round((100 * total(runs.map((r) => total(r.counts.map((c) => c.withMotion))))) / Math.max(1, total(processedByCamera)), 1),
    latency_ms_p50: round(median(latencyRuns.map((l) => percentile(l, 50) / 1e3)), 3),
    latency_ms_p99: round(median(latencyRuns.map((l) => percentile(l, 99) / 1e3)), 3),
    ...spread(runs.map((r) => r.cpuPercent), 'cpu_percent'),
    consumer_threads_cpu_percent: round(median(runs.map((r) => sumWhere(r.threads, isConsumerThread))), 1),
    main_cpu_percent: round(median(runs.map((r) => r.threads.get('main') ?? 0)), 1),
    feed_cpu_percent: round(median(runs.map((r) => r.threads.get('feed') ?? 0)), 1),
    threads: median(runs.map((r) => r.threadCount)),
    loop_delay_ms_p99: round(median(runs.map((r) => r.loopDelayP99Ms)), 2),
    camera_thread_switches: total(runs.map((r) => total(r.counts.map((c) => c.threadSwitches)))),
    load1_median: round(median(runs.map((r) => r.load1)), 2),
  }
  const results: BenchReport['results'] = { mode }
  for (let c = 0; c < cameras; c++) results[`camera_${c}`] = { published: published[c]!, processed: processedByCamera[c]!, lost: lost[c]!, not_published: notPublished[c]! }
  results['threads'] = medianByName(runs.map((r) => r.threads))
  return results
}

/** Runs the bench; `pass` is false when any camera lost a frame in any mode. */
export async function benchPool(options: PoolBenchOptions = {}): Promise<{ report: BenchReport; pass: boolean }> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const o = { seconds: options.seconds ?? 30, rounds: options.rounds ?? 2, cameras: options.cameras ?? 4, warmupS: options.warmupS ?? 2, modes: options.modes ?? POOL_MODES }
  if (!Number.isInteger(o.cameras) || o.cameras < 1 || o.cameras > MAX_CAMERAS) throw new UsageError(`--cameras: ${o.cameras} is not allowed; use an integer from 1 to ${MAX_CAMERAS}`)
  if (!Number.isInteger(o.rounds)) throw new UsageError(`--rounds: ${o.rounds} is not allowed; use a whole number of rounds`)
  if (o.modes.length === 0) throw new UsageError(`--modes: none given; use any of ${POOL_MODES.join(', ')}`)
  const loadStart = loadAverage()
  const poolThreads = availableParallelism()
  log(`pool: ${o.cameras} cameras at 1080p30, motion on every frame; modes ${o.modes.join(', ')} (piscina: ${poolThreads} threads); ${o.rounds} round(s) of ${o.seconds} s after ${o.warmupS} s warm-up; load average ${loadStart}`)
  const runs = new Map<PoolMode, ModeRun[]>(o.modes.map((m) => [m, []]))
  for (let round_ = 1; round_ <= o.rounds; round_++) {
    for (const mode of o.modes) {
      const r = await runMode(mode, o)
      runs.get(mode)!.push(r)
      const latency = r.counts.flatMap((c) => c.latencyUs)
      log(
        `round ${round_}/${o.rounds} ${mode}: cpu ${r.cpuPercent.toFixed(1)} %, consumers ${sumWhere(r.threads, isConsumerThread).toFixed(1)} %, ` +
          `latency p50 ${(percentile(latency, 50) / 1e3).toFixed(2)} ms p99 ${(percentile(latency, 99) / 1e3).toFixed(2)} ms, lost ${r.lost.join(' ')}, ` +
          `${r.threadCount} threads, loop p99 ${r.loopDelayP99Ms.toFixed(2)} ms; load ${loadAverage()}`,
      )
    }
  }
  const results: BenchReport['results'] = {}
  for (const [mode, modeRuns] of runs) {
    for (const [key, value] of Object.entries(summarise(modeRuns, o.cameras))) results[key === 'mode' ? mode : `${mode}_${key}`] = value
  }
  const ratios: Record<string, number> = {}
  const base = results['threads']
  if (base) {
    for (const mode of o.modes.filter((m) => m !== 'threads')) {
      const other = results[mode]!
      for (const key of ['cpu_percent', 'consumer_threads_cpu_percent', 'latency_ms_p99', 'loop_delay_ms_p99']) {
        ratios[`${key}_${mode}_vs_threads`] = round((other[key] as number) / (base[key] as number), 3)
      }
    }
  }
  const pass = o.modes.every((m) => results[m]!['frames_lost'] === 0 && results[m]!['frames_not_published'] === 0)
  const report: BenchReport = {
    scope: 'pool',
    machine: {
      ...machine(),
      cameras: o.cameras,
      frame: `${FRAME_LAYOUT.planes[0]!.width}x${FRAME_LAYOUT.planes[0]!.height} yuv420p 30 fps`,
      pool_threads: poolThreads,
      rounds: o.rounds,
      seconds_per_mode: o.seconds,
      warmup_s: o.warmupS,
      load_average_start: loadStart,
      load_average_end: loadAverage(),
    },
    results,
    ratios,
  }
  log('')
  log(table(Object.fromEntries(o.modes.map((m) => [m, results[m]!]))))
  log('')
  for (const [k, v] of Object.entries(ratios)) log(`  ${k}: ${v}x`)
  const cheapest = [...o.modes].filter((m) => results[m]!['frames_lost'] === 0).sort((a, b) => (results[a]!['cpu_percent'] as number) - (results[b]!['cpu_percent'] as number))[0]
  log(pass ? `every camera lost 0 frames in every mode; least CPU: ${cheapest}` : `FAIL: frames lost (per camera, by mode: ${o.modes.map((m) => `${m} ${results[m]!['frames_lost_per_camera']}`).join('; ')})`)
  await writeReport(report, options.json)
  return { report, pass }
}
