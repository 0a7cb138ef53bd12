// The source plan's backpressure test (test_dma_backpressure): a synthetic
// 60 FPS camera, several consumers that keep up and one that cannot. The
// producer must not slow down (the frames come out in real time, within
// 1.2x), the slow consumer's losses are counted, and the others lose nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { runHeart, type RunSummary } from '@heart/cli'
import { machine, round, table, writeReport, type BenchReport } from './report.js'
import { isLoss } from './soak-targets.js'

export interface BackpressureOptions {
  /** Seconds of frames to publish (seconds x fps frames). */
  seconds: number
  fps?: number
  size?: string
  /** Consumers that keep up (frame verifiers reading every pixel). */
  verifiers?: number
  /** Queue depth of the verifiers (default 8: a 133 ms scheduling hiccup at 60 FPS costs no frame). */
  verifierDepth?: number
  /** The slow consumer's cost per frame, ms (40 ms: 25 frames a second of 60). */
  slowMsPerFrame?: number
  json?: string
  log?: (line: string) => void
}

export interface BackpressureResult {
  seconds: number
  fps: number
  expected_frames: number
  /** Frames published between the first frame and the end of the window. */
  published: number
  /** Wall time to publish expected_frames, s (null: not reached before the give-up time). */
  wall_s: number | null
  /** wall_s / seconds: the 1.2x real-time claim. */
  real_time_ratio: number | null
  slow: { delivered: number; lost: number }
  /** Frames lost by all the consumers that keep up, together. */
  others_lost: number
  /** Frames the verifiers found torn or out of sequence. */
  bad_frames: number
  /** Every consumer: delivered + dropped = published. */
  books_balance: boolean
  consumers: RunSummary['consumers']
  load_avg: number[]
}

export const SLOW_CONSUMER = 'slow_consumer'

export async function runBackpressure(options: BackpressureOptions): Promise<BackpressureResult> {
  const fps = options.fps ?? 60
  const size = options.size ?? '1920x1080'
  const verifiers = options.verifiers ?? 3
  const expected = Math.round(options.seconds * fps)
  const dir = mkdtempSync(join(tmpdir(), 'heart-backpressure-'))
  const configFile = join(dir, 'backpressure.json')
  writeFileSync(
    configFile,
    JSON.stringify({
      source: `synthetic://?size=${size}&fps=${fps}`,
      http: { host: '127.0.0.1', port: 0 },
      consumers: Array.from({ length: verifiers }, (_, i) => ({ name: `verify_${i}`, kind: 'verify', depth: options.verifierDepth ?? 8 })),
      thermal: { enabled: false },
    }),
  )
  const heart = await runHeart({ configFile, status: false, logger: silentLogger }).finally(() => rmSync(dir, { recursive: true, force: true }))
  let stopped = false
  try {
    const reports: Array<{ badFrames: number; sequenceBreaks: number; final?: boolean }> = []
    heart.kernel.on('verify.report', (e) => reports.push(e.payload as never))
    heart.kernel.startConsumer({
      name: SLOW_CONSUMER,
      entry: new URL('./soak-stall-worker.js', import.meta.url),
      ring: heart.cameras[0]!.name,
      consumer: { depth: 2 },
      app: { sleepMsPerFrame: options.slowMsPerFrame ?? 40 },
    })
    const ring = heart.capture.ring
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
    // Start the clock at the first frame every consumer could see (workers take a moment to start).
    const joinBy = performance.now() + 20_000
    while (performance.now() < joinBy && (ring.published() === 0n || ring.consumerStats().filter((c) => c.state === 'active').length < verifiers + 1)) await sleep(5)
    const p0 = ring.published()
    const t0 = performance.now()
    const giveUp = t0 + options.seconds * 1000 * 1.5
    let wallS: number | null = null
    while (performance.now() < giveUp) {
      if (Number(ring.published() - p0) >= expected) {
        wallS = (performance.now() - t0) / 1000
        break
      }
      await sleep(2)
    }
    const published = Number(ring.published() - p0)
    const summary = await heart.stop()
    stopped = true
    const slowBooks = summary.health.consumers[SLOW_CONSUMER]
    const lostOf = (c: { dropped: Record<string, number> } | undefined): number => (c ? Object.entries(c.dropped).reduce((a, [r, n]) => a + (isLoss(r) ? n : 0), 0) : 0)
    let othersLost = 0
    let balance = true
    for (const [name, c] of Object.entries(summary.health.consumers)) {
      if (name !== SLOW_CONSUMER) othersLost += lostOf(c)
      const dropped = Object.values(c.dropped).reduce((a, b) => a + b, 0)
      if (c.delivered + dropped !== c.published) balance = false
    }
    return {
      seconds: options.seconds,
      fps,
      expected_frames: expected,
      published,
      wall_s: wallS === null ? null : round(wallS, 3),
      real_time_ratio: wallS === null ? null : round(wallS / options.seconds, 4),
      slow: { delivered: slowBooks?.delivered ?? 0, lost: lostOf(slowBooks) },
      others_lost: othersLost,
      bad_frames: reports.filter((r) => r.final).reduce((a, r) => a + r.badFrames + r.sequenceBreaks, 0),
      books_balance: balance,
      consumers: summary.consumers,
      load_avg: loadavg().map((x) => round(x, 2)),
    }
  } finally {
    if (!stopped) await heart.stop()
  }
}

/** `heart bench backpressure [--seconds N] [--json FILE]`. */
export async function benchBackpressure(options: BackpressureOptions): Promise<boolean> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const r = await runBackpressure(options)
  const pass = r.real_time_ratio !== null && r.real_time_ratio <= 1.2 && r.others_lost === 0 && r.slow.lost > 0 && r.bad_frames === 0 && r.books_balance
  const report: BenchReport = {
    scope: 'backpressure',
    machine: { ...machine(), load_avg_end: r.load_avg },
    results: {
      heart: {
        seconds: r.seconds,
        fps: r.fps,
        expected_frames: r.expected_frames,
        published: r.published,
        wall_s: r.wall_s,
        real_time_ratio: r.real_time_ratio,
        slow_delivered: r.slow.delivered,
        slow_lost: r.slow.lost,
        others_lost: r.others_lost,
        bad_frames: r.bad_frames,
        books_balance: String(r.books_balance),
        verdict: pass ? 'PASS' : 'FAIL',
      },
    },
    ratios: { real_time: r.real_time_ratio ?? NaN },
  }
  log(table(report.results))
  log(`backpressure: ${pass ? 'PASS' : 'FAIL'} (real time x${r.real_time_ratio ?? '-'} <= 1.2, slow consumer lost ${r.slow.lost}, others lost ${r.others_lost}); load ${r.load_avg.join(' ')}`)
  await writeReport({ ...report, consumers: r.consumers } as BenchReport, options.json)
  return pass
}
