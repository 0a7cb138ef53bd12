// `heart bench ring`: what the frame ring costs and how fast it wakes a
// consumer, beside the usual ways of handing a 1080p frame to 4 workers.
import { Worker } from 'node:worker_threads'
import { FrameRing, frameLayout } from '@heart/ring'
import { machine, median, percentile, round, table, writeReport, type BenchReport } from './report.js'

const CONSUMERS = 4
const layout = frameLayout(1920, 1080, 'yuv420p')

export interface RingBenchOptions {
  /** Frames per hand-off measurement. */
  frames?: number
  /** Frames per single-thread cost run (5 runs, median). */
  costFrames?: number
  json?: string
  log?: (line: string) => void
}

/** Publish + acquire + release with 4 consumers in one thread: the ring's own cost, no scheduling. */
function opCostUs(frames: number): number {
  const runs: number[] = []
  for (let run = 0; run < 5; run++) {
    const ring = FrameRing.create({ slotBytes: layout.byteLength, maxConsumers: CONSUMERS, defaultDepth: 2 })
    const producer = ring.producer()
    const consumers = Array.from({ length: CONSUMERS }, (_, i) => ring.consumer(`c${i}`))
    const meta = { captureTsNs: 0n, decodeTsNs: 0n, width: 1920, height: 1080, pixFmt: 'yuv420p' as const, planes: layout.planes }
    const start = process.hrtime.bigint()
    for (let f = 0; f < frames; f++) {
      const slot = producer.beginWrite()!
      meta.captureTsNs = meta.decodeTsNs = process.hrtime.bigint()
      producer.commit(slot, meta)
      for (const c of consumers) c.release(c.tryAcquire()!)
    }
    runs.push(Number(process.hrtime.bigint() - start) / 1e3 / frames)
  }
  return median(runs)
}

type Mode = 'ring-blocking' | 'ring-async' | 'transfer' | 'clone'

interface HandoffResult {
  latencyUs: number[]
  senderUs: number[]
}

async function startWorkers(mode: Mode, ring: FrameRing | null, acks: SharedArrayBuffer): Promise<Worker[]> {
  const workerMode = mode === 'transfer' || mode === 'clone' ? 'message' : mode
  const workers = Array.from(
    { length: CONSUMERS },
    (_, index) => new Worker(new URL('./ring-worker.js', import.meta.url), { workerData: { mode: workerMode, index, ring: ring?.buffer, acks, name: `bench_${index}` } }),
  )
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))))
  return workers
}

/** Hands `frames` frames one at a time to 4 workers; latency = send start to the last worker holding it. */
async function handoff(mode: Mode, frames: number): Promise<HandoffResult> {
  const acks = new SharedArrayBuffer(8 + 8 * 8)
  const ackCount = new Int32Array(acks, 0, 1)
  const stamps = new BigInt64Array(acks, 8, 8)
  const ring = mode.startsWith('ring') ? FrameRing.create({ slotBytes: layout.byteLength, maxConsumers: CONSUMERS, defaultDepth: 4 }) : null
  const workers = await startWorkers(mode, ring, acks)
  const producer = ring?.producer()
  // The frame the message-based methods send: a decoded frame in the sender's memory.
  const source = new Uint8Array(layout.byteLength).fill(7)
  const latencyUs: number[] = []
  const senderUs: number[] = []
  // Let the ring consumers be activated by a first publish nobody measures.
  if (producer) {
    const slot = producer.beginWrite()!
    producer.commit(slot, { captureTsNs: 0n, decodeTsNs: 0n, width: 1920, height: 1080, pixFmt: 'yuv420p', planes: layout.planes })
    await waitAcks(ackCount, CONSUMERS)
  }
  for (let f = 0; f < frames + 10; f++) {
    Atomics.store(ackCount, 0, 0)
    const start = process.hrtime.bigint()
    if (producer) {
      const slot = producer.beginWrite()!
      // The decoder writes the slot natively in heart; the copy is the same for every method, so it is not timed here.
      producer.commit(slot, { captureTsNs: start, decodeTsNs: start, width: 1920, height: 1080, pixFmt: 'yuv420p', planes: layout.planes })
    } else {
      for (const w of workers) {
        if (mode === 'transfer') {
          const copy = source.slice()
          w.postMessage({ frame: copy }, [copy.buffer])
        } else {
          w.postMessage({ frame: source })
        }
      }
    }
    const sent = process.hrtime.bigint()
    await waitAcks(ackCount, CONSUMERS)
    let last = 0n
    for (let i = 0; i < CONSUMERS; i++) if (stamps[i]! > last) last = stamps[i]!
    if (f >= 10) {
      // The first 10 frames warm up JIT and worker queues.
      latencyUs.push(Number(last - start) / 1e3)
      senderUs.push(Number(sent - start) / 1e3)
    }
  }
  for (const w of workers) w.postMessage({ stop: true })
  await Promise.all(workers.map((w) => w.terminate()))
  return { latencyUs, senderUs }
}

async function waitAcks(acks: Int32Array, n: number): Promise<void> {
  for (;;) {
    const seen = Atomics.load(acks, 0)
    if (seen >= n) return
    const r = Atomics.waitAsync(acks, 0, seen, 1000)
    if (r.async) await r.value
  }
}

export async function benchRing(options: RingBenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? ((line: string) => console.log(line))
  const frames = options.frames ?? 400
  log(`heart bench ring: 1080p yuv420p frames (${layout.byteLength} bytes) to ${CONSUMERS} consumers`)
  const costUs = opCostUs(options.costFrames ?? 20_000)
  log(`  publish + acquire + release (4 consumers, one thread): ${round(costUs, 3)} us per frame`)
  const results: BenchReport['results'] = {}
  const measured: Record<Mode, HandoffResult> = {} as never
  for (const mode of ['ring-blocking', 'ring-async', 'transfer', 'clone'] as const) {
    measured[mode] = await handoff(mode, frames)
    const m = measured[mode]
    log(`  ${mode}: hand-off p50 ${round(percentile(m.latencyUs, 50))} us, p99 ${round(percentile(m.latencyUs, 99))} us, sender ${round(median(m.senderUs))} us`)
  }
  const ringBlocking = measured['ring-blocking']
  const ringAsync = measured['ring-async']
  results.heart = {
    publish_to_release_us: round(costUs, 3),
    wake_us_p50: round(percentile(ringBlocking.latencyUs, 50)),
    wake_us_p99: round(percentile(ringBlocking.latencyUs, 99)),
    wake_async_us_p50: round(percentile(ringAsync.latencyUs, 50)),
    wake_async_us_p99: round(percentile(ringAsync.latencyUs, 99)),
    sender_us_p50: round(median(ringBlocking.senderUs)),
    bytes_copied_per_frame: 0,
  }
  for (const [name, mode] of [['post_message_transfer', 'transfer'], ['structured_clone', 'clone']] as const) {
    const m = measured[mode]
    results[name] = {
      handoff_us_p50: round(percentile(m.latencyUs, 50)),
      handoff_us_p99: round(percentile(m.latencyUs, 99)),
      sender_us_p50: round(median(m.senderUs)),
      bytes_copied_per_frame: layout.byteLength * CONSUMERS,
    }
  }
  const heartP50 = percentile(ringBlocking.latencyUs, 50)
  const ratios = {
    transfer_handoff_p50_vs_heart: round(percentile(measured.transfer.latencyUs, 50) / heartP50),
    clone_handoff_p50_vs_heart: round(percentile(measured.clone.latencyUs, 50) / heartP50),
    transfer_sender_vs_heart: round(median(measured.transfer.senderUs) / median(ringBlocking.senderUs)),
    clone_sender_vs_heart: round(median(measured.clone.senderUs) / median(ringBlocking.senderUs)),
  }
  const report: BenchReport = { scope: 'ring', machine: machine(), results, ratios }
  log('')
  log(table(results))
  log('')
  for (const [k, v] of Object.entries(ratios)) log(`  ${k}: ${v}x`)
  await writeReport(report, options.json)
  return report
}
