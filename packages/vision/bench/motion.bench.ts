// Cost of the movement detector per 1080p frame (goal: under 2 ms).
// Run: pnpm exec tsc -b packages/vision && node packages/vision/dist/bench/motion.bench.js [--frames N]
// Frames are generated up front (a textured scene with a moving square), so
// only detector.process() is timed.

import { MotionDetector } from '../src/motion.js'
import type { MotionOptions } from '../src/motion.js'
import { Scene } from '../test/scene.js'

const framesArg = process.argv.indexOf('--frames')
const frames = framesArg > 0 ? Number(process.argv[framesArg + 1]) : 600
const W = 1920
const H = 1080
const scene = new Scene(W, H)
const clip: Uint8Array[] = []
for (let i = 0; i < 16; i++) {
  clip.push(scene.render(scene.allocate(), i < 4 ? [] : [{ x: 200 + i * 40, y: 300 + i * 10, size: 160, luma: 230 }]))
}

// The same clip already reduced to 320x180 (what a natively scaled input, the
// consumer's "input size", hands the detector): the cost of everything after the downscale.
const small = clip.map((frame) => {
  const out = new Uint8Array(320 * 180)
  for (let y = 0; y < 180; y++) for (let x = 0; x < 320; x++) out[y * 320 + x] = frame[(y * 6 + 3) * W + x * 6 + 3]!
  return out
})

function run(name: string, opts: MotionOptions, frames_ = clip, w = W, h = H): { name: string; median_ms: number; p99_ms: number; grid: string } {
  const det = new MotionDetector(opts)
  const times: number[] = []
  for (let i = 0; i < frames; i++) {
    // Cycle 4 static frames then the moving square, so motion regions are present most of the time.
    const frame = frames_[i % frames_.length]!
    const t0 = process.hrtime.bigint()
    det.process(frame, w, h)
    const dt = Number(process.hrtime.bigint() - t0) / 1e6
    if (i >= 100) times.push(dt) // skip JIT warm-up
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
  run('1080p default (average, auto factor)', {}),
  run('1080p average, factor 8', { downscale: 8 }),
  run('1080p sample, auto factor', { downscaleMode: 'sample' }),
  run('input already 320x180 (native scaling)', {}, small, 320, 180),
]
for (const r of results) console.log(`motion ${r.name}: median ${r.median_ms} ms, p99 ${r.p99_ms} ms, grid ${r.grid}`)
console.log(JSON.stringify({ scope: 'motion', frames, results }))
