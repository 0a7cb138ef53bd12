import t from 'tap'
import { copyFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { scanFmp4 } from '../src/fmp4-scan.js'
import { ffmpegFragmented, probeFrames, tempDir } from './helpers.js'

t.test('a whole fragmented file: every fragment and frame counted, duration from the sample tables', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'whole.mp4')
  await ffmpegFragmented(file, { frames: 90, fps: 30, fragmentFrames: 30 })
  const scan = await scanFmp4(file)
  t.equal(scan.hasInit, true)
  t.equal(scan.fragments, 3)
  t.equal(scan.frames, 90)
  t.equal(scan.wholeBytes, scan.fileBytes, 'whole')
  t.ok(Math.abs(scan.endDecodeS - scan.firstDecodeS - 3) < 0.05, `runs 3 s (${scan.firstDecodeS} to ${scan.endDecodeS})`)
  t.equal(await probeFrames(file), 90, 'ffprobe agrees')
})

t.test('cut inside a fragment: whole up to the last complete one', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'cut.mp4')
  await ffmpegFragmented(file, { frames: 90, fps: 30, fragmentFrames: 30 })
  const size = statSync(file).size
  truncateSync(file, size - 100)
  const scan = await scanFmp4(file)
  t.equal(scan.fragments, 2)
  t.equal(scan.frames, 60)
  t.ok(scan.wholeBytes < scan.fileBytes)
})

t.test('damage the scan must not trust: no init, a box claiming more than the file, garbage', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'src.mp4')
  await ffmpegFragmented(file, { frames: 30, fps: 30, fragmentFrames: 10 })
  const initOnly = join(dir, 'init-cut.mp4')
  copyFileSync(file, initOnly)
  truncateSync(initOnly, 200) // inside moov
  const a = await scanFmp4(initOnly)
  t.equal(a.hasInit, false)
  t.equal(a.wholeBytes, 0)
  const garbage = join(dir, 'garbage.mp4')
  writeFileSync(garbage, Buffer.from('this is not an mp4 file at all, just text'))
  const b = await scanFmp4(garbage)
  t.equal(b.hasInit, false)
  t.equal(b.fragments, 0)
  const empty = join(dir, 'empty.mp4')
  writeFileSync(empty, Buffer.alloc(0))
  t.equal((await scanFmp4(empty)).wholeBytes, 0)
})

t.test('HEVC fragments are counted the same way', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'hevc.mp4')
  await ffmpegFragmented(file, { frames: 40, fps: 20, fragmentFrames: 20, codec: 'libx265' })
  const scan = await scanFmp4(file)
  t.equal(scan.frames, 40)
  t.equal(scan.fragments, 2)
})
