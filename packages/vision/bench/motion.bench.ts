// CPU per frame of the movement detector, downscale included: the crate's
// per-cell stages (what heart runs) beside the JavaScript ones they replaced
// (test/js-grid), on the same frames, in alternating rounds.
// Run: nice pnpm run build:ts && node packages/vision/dist/bench/motion.bench.js [--frames N] [--rounds N] [--json FILE]
//
// Frames are generated up front and there are 48 distinct ones (100 MB at
// 1080p), so every frame is read from memory, not from the cache, as a ring
// slot the decoder just wrote would be. The scene is textured, with sensor
// noise and two squares moving back and forth, so the detector finds
// regions on every frame.

import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { MotionDetector } from '../src/motion.js'
import type { MotionGridFactory } from '../src/native.js'
import { nativeMotionGrid } from '../src/native.js'
import { jsMotionGrid } from '../test/js-grid/grid.js'
import { Scene } from '../test/scene.js'

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}
const frames = Number(flag('frames', '600'))
const rounds = Number(flag('rounds', '3'))
const jsonFile = flag('json', '')
const WARMUP = 120
const CLIP = 48

function clip(w: number, h: number): Uint8Array[] {
  const scene = new Scene(w, h)
  const out: Uint8Array[] = []
  for (let i = 0; i < CLIP; i++) {
    const k = i < CLIP / 2 ? i : CLIP - i
    const s = w / 1920
    const squares = [
      { x: Math.round((100 + k * 20) * s), y: Math.round((200 + k * 6) * s), size: Math.round(200 * s), luma: 230 },
      { x: Math.round(w - (400 + k * 12) * s), y: Math.round(500 * s), size: Math.round(120 * s), luma: 20 },
    ]
    out.push(scene.render(scene.allocate(), squares, { noise: 12 }))
  }
  return out
}

/** CPU milliseconds per frame (user + system of this thread's process; nothing else runs). */
function cpuPerFrame(grid: MotionGridFactory, video: Uint8Array[], w: number, h: number): { cpuMs: number; boxes: number } {
  const detector = new MotionDetector({}, grid)
  for (let i = 0; i < WARMUP; i++) detector.process(video[i % CLIP]!, w, h)
  let boxes = 0
  const c0 = process.cpuUsage()
  for (let i = 0; i < frames; i++) boxes += detector.process(video[i % CLIP]!, w, h).boxCount
  const c = process.cpuUsage(c0)
  return { cpuMs: (c.user + c.system) / 1000 / frames, boxes: boxes / frames }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]!
}
const round3 = (v: number): number => Math.round(v * 1000) / 1000

const results: Record<string, Record<string, number | string>> = {}
const ratios: Record<string, number> = {}
for (const [label, w, h] of [['1080p', 1920, 1080], ['720p', 1280, 720]] as const) {
  const video = clip(w, h)
  const runs = { native: [] as number[], js: [] as number[] }
  const boxes = { native: 0, js: 0 }
  // Alternating, so a change in machine load hits both alike.
  for (let r = 0; r < rounds; r++) {
    for (const [name, grid] of [['native', nativeMotionGrid], ['js', jsMotionGrid]] as const) {
      const run = cpuPerFrame(grid, video, w, h)
      runs[name].push(run.cpuMs)
      boxes[name] = run.boxes
    }
  }
  for (const name of ['native', 'js'] as const) {
    results[`${label}_${name}`] = { cpu_ms_per_frame: round3(median(runs[name])), rounds: runs[name].map(round3).join(' '), boxes_per_frame: round3(boxes[name]) }
  }
  ratios[`${label}_js_over_native`] = Math.round((median(runs.js) / median(runs.native)) * 100) / 100
}
for (const [name, r] of Object.entries(results)) console.log(`motion ${name}: ${r.cpu_ms_per_frame} ms CPU a frame (median of ${rounds}: ${r.rounds}), ${r.boxes_per_frame} boxes a frame`)
for (const [name, v] of Object.entries(ratios)) console.log(`motion ${name}: ${v}x`)
const report = {
  scope: 'motion',
  machine: { cpu_model: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  results: { ...results, settings: { frames, rounds, warmup_frames: WARMUP, distinct_frames: CLIP } },
  ratios,
}
if (jsonFile !== '') writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n')
else console.log(JSON.stringify(report))
