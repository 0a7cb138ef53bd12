// Cost of the movement detector per 1080p frame (goal: under 2 ms).
// Run: pnpm exec tsc -b packages/vision && node packages/vision/dist/bench/motion.bench.js [--frames N]
// Frames are generated up front (a textured scene with a moving square), so
// only detector.process() is timed.

import { MotionDetector } from '../src/motion.js'
import type { MotionOptions } from '../src/motion.js'
import { Scene } from '../test/scene.js'

const framesArg = process.argv.indexOf('--frames')
const frames = framesArg > 0 ? Number(process.argv[framesArg + 1]) : 300
const W = 1920
const H = 1080
const scene = new Scene(W, H)
const clip: Uint8Array[] = []
for (let i = 0; i < 16; i++) {
  clip.push(scene.render(scene.allocate(), i < 4 ? [] : [{ x: 200 + i * 40, y: 300 + i * 10, size: 160, luma: 230 }]))
}

function run(name: string, opts: MotionOptions): { name: string; median_ms: number; p99_ms: number; grid: string } {
  const det = new MotionDetector(opts)
  const times: number[] = []
  for (let i = 0; i < frames; i++) {
    // Cycle 4 static frames then the moving square, so motion regions are present most of the time.
    const frame = clip[i % clip.length]!
    const t0 = process.hrtime.bigint()
    det.process(frame, W, H)
    const dt = Number(process.hrtime.bigint() - t0) / 1e6
    if (i >= 20) times.push(dt) // skip JIT warm-up
  }
  times.sort((a, b) => a - b)
  const g = det.grid
  return {
    name,
    median_ms: round(times[Math.floor(times.length / 2)]!),
    p99_ms: round(times[Math.floor(times.length * 0.99)]!),
    grid: `${g.width}x${g.height} (factor ${g.factor})`,
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000
}

const results = [
  run('default (average, auto factor)', {}),
  run('average, factor 8', { downscale: 8 }),
  run('sample, auto factor', { downscaleMode: 'sample' }),
]
for (const r of results) console.log(`motion 1080p ${r.name}: median ${r.median_ms} ms, p99 ${r.p99_ms} ms, grid ${r.grid}`)
console.log(JSON.stringify({ scope: 'motion', frames, results }))
