import t from 'tap'
import { mkdirSync, statSync, truncateSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { CLIPS_FOLDER, eventFileName, listSegments, repairSegment, segmentPath, segmentStem } from '../src/segment-files.js'
import { ffmpegFragmented, probeFrames, tempDir } from './helpers.js'

t.test('segment names are UTC day folders and HH-MM-SS, with a suffix for a second start in the same second', (t) => {
  const dir = tempDir(t)
  const at = Date.parse('2026-12-07T23:59:58.600Z')
  t.same(segmentStem(at), ['2026-12-07', '23-59-58'])
  const first = segmentPath(dir, 'front', at)
  t.equal(first, join(dir, 'front', '2026-12-07', '23-59-58.mp4'))
  mkdirSync(join(dir, 'front', '2026-12-07'), { recursive: true })
  writeFileSync(first, '')
  t.equal(segmentPath(dir, 'front', at + 100), join(dir, 'front', '2026-12-07', '23-59-58-2.mp4'))
  t.end()
})

t.test('listing: oldest first across days, clips and stray files left out', async (t) => {
  const dir = tempDir(t)
  const put = (rel: string): void => {
    mkdirSync(join(dir, 'front', rel, '..'), { recursive: true })
    writeFileSync(join(dir, 'front', rel), 'x')
  }
  put('2026-12-08/00-00-01.mp4')
  put('2026-12-07/23-59-58.mp4')
  put('2026-12-07/23-59-58-2.mp4')
  put('2026-12-07/notes.txt')
  put(`${CLIPS_FOLDER}/2026-12-07T10-00-00Z-motion.mp4`)
  const list = await listSegments(dir, 'front')
  t.same(list.map((s) => s.name), ['2026-12-07/23-59-58.mp4', '2026-12-07/23-59-58-2.mp4', '2026-12-08/00-00-01.mp4'])
  t.equal(list[2]!.startMs, Date.parse('2026-12-08T00:00:01Z'))
  t.same(await listSegments(dir, 'nobody'), [], 'a camera that never recorded has none')
})

t.test('repair: a file cut mid-fragment is truncated to its last whole fragment and plays', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'seg.mp4')
  await ffmpegFragmented(file, { frames: 60, fps: 30, fragmentFrames: 15 })
  truncateSync(file, statSync(file).size - 50)
  const outcome = await repairSegment(file)
  t.equal(outcome.action, 'truncated')
  t.equal(await probeFrames(file), 45, 'three whole fragments left, decoded by ffprobe')
  t.same(await repairSegment(file), { action: 'ok' }, 'a second repair finds nothing to do')
})

t.test('repair: a file with no whole fragment is removed', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'seg.mp4')
  await ffmpegFragmented(file, { frames: 30, fps: 30, fragmentFrames: 30 })
  truncateSync(file, 900)
  const outcome = await repairSegment(file)
  t.equal(outcome.action, 'removed')
  t.equal(existsSync(file), false)
})

t.test('clip and capture names: UTC to the second, what made them, a counter', (t) => {
  const at = Date.parse('2026-12-07T15:04:09.750Z')
  t.equal(eventFileName(at, 'motion', 3, 'mp4'), '2026-12-07T15-04-09Z-motion-3.mp4')
  t.equal(eventFileName(at, 'capture', 4, 'y4m'), '2026-12-07T15-04-09Z-capture-4.y4m')
  t.end()
})
