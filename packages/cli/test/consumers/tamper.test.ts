// The tamper kind: its luma statistics on frames of every layout, its
// thresholds, and a real `heart run` on a decoded clip whose picture goes
// black (a covered lens), which must raise exactly one `camera.tamper` event.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { silentLogger, validate } from '@heart/kernel'
import t from 'tap'
import { classify, lumaStats, tamperKind, type TamperEvent } from '../../src/consumers/tamper.js'
import { runHeart } from '../../src/run.js'

const run = promisify(execFile)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const defaults = validate(tamperKind.options, {}).value

function grayFrame(width: number, height: number, pixel: (x: number, y: number) => number) {
  const bytes = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) bytes[y * width + x] = pixel(x, y)
  return { bytes, pixFmt: 'gray' as const, planes: [{ offset: 0, stride: width, width, height }] }
}

t.test('luma statistics: mean and spread of the sampled grid, in every layout', async (t) => {
  const flat = lumaStats(grayFrame(64, 48, () => 100), 4)
  t.same(flat, { mean: 100, stddev: 0 })
  const stripes = lumaStats(grayFrame(64, 48, (x) => (x % 2 === 0 ? 0 : 200)), 1)
  t.equal(stripes.mean, 100)
  t.equal(stripes.stddev, 100)
  // Packed RGB is weighed, not read as one channel: pure green is bright, pure blue dark.
  const rgb = new Uint8Array(8 * 8 * 3)
  for (let i = 0; i < 64; i++) rgb[i * 3 + 1] = 255
  const green = lumaStats({ bytes: rgb, pixFmt: 'rgb24', planes: [{ offset: 0, stride: 24, width: 8, height: 8 }] }, 1)
  t.equal(green.mean, (150 * 255) >> 8)
  const bgr = new Uint8Array(8 * 8 * 3)
  for (let i = 0; i < 64; i++) bgr[i * 3] = 255 // blue first in bgr24
  t.equal(lumaStats({ bytes: bgr, pixFmt: 'bgr24', planes: [{ offset: 0, stride: 24, width: 8, height: 8 }] }, 1).mean, (29 * 255) >> 8)
})

t.test('thresholds: dark and bright win over flat; a textured scene is clear', async (t) => {
  t.equal(classify({ mean: 3, stddev: 0 }, defaults), 'dark')
  t.equal(classify({ mean: 250, stddev: 0 }, defaults), 'bright')
  t.equal(classify({ mean: 128, stddev: 1 }, defaults), 'flat')
  t.equal(classify({ mean: 110, stddev: 45 }, defaults), 'clear')
})

t.test('options are checked like any kind\'s: a typo is named, a value out of range too', async (t) => {
  t.match(validate(tamperKind.options, { darkBelw: 10 }).problems.join('\n'), /darkBelw: unknown setting \(did you mean "darkBelow"\?\)/)
  t.match(validate(tamperKind.options, { sampleStep: 0 }).problems.join('\n'), /sampleStep: 0 is out of range/)
})

t.test('heart run: a covered lens in a real decoded stream raises one dark event after holdMs', async (t) => {
  const dir = t.testdir({})
  const clip = join(dir, 'covered.mp4')
  // Two seconds of a textured test pattern, then three seconds of black: what a hand over the lens looks like.
  await run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30:duration=2',
    '-f', 'lavfi', '-i', 'color=black:size=160x120:rate=30:duration=3',
    '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-g', '30', '-pix_fmt', 'yuv420p', clip,
  ])
  const config = join(dir, 'heart.yaml')
  writeFileSync(config, [
    `source: "file://${clip}?realtime=1"`,
    'http: { port: 0 }',
    'thermal: { enabled: false }',
    'consumers:',
    '  - { name: lens_watch, kind: tamper, options: { holdMs: 500 } }',
    '',
  ].join('\n'))
  const heart = await runHeart({ configFile: config, status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  const events: { at: number; payload: TamperEvent }[] = []
  const startedAt = Date.now()
  heart.kernel.events.on('camera.tamper', (e) => events.push({ at: Date.now() - startedAt, payload: e.payload as TamperEvent }))
  // Up to 30 s: on a loaded box the worker may start seconds late.
  for (let i = 0; i < 600 && events.length === 0; i++) await sleep(50)
  t.equal(events.length, 1, 'one event')
  const first = events[0]!.payload
  t.match(first, { state: 'dark', from: 'clear' }, 'the black part is reported as dark')
  t.ok(first.meanLuma < defaults.darkBelow, `mean luma ${first.meanLuma} is below darkBelow`)
  // 2 s of picture + 0.5 s of hold: not before the picture went black.
  t.ok(events[0]!.at >= 2000, `reported after the picture went black (${events[0]!.at} ms after start)`)
  await sleep(300)
  t.equal(events.length, 1, 'no repeat while the lens stays covered')
  // At least the 500 ms hold's frames (15 at 30 fps): on a loaded box the worker may join after the picture part.
  t.ok((heart.report().consumers.lens_watch?.delivered ?? 0) > 15, 'the consumer read the frames')
})
