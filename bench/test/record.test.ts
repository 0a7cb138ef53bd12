// The record bench's pure parts: how it reads the test camera's URL, finds
// gaps in decoded frame counters, places the lead-in, computes its ratios and
// MB per hour; and its flags, refused before anything runs.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { counterGaps, leadInFrames, nominalFps, recordRatios, testCameraPlan } from '../src/record.js'

const entry = fileURLToPath(new URL('../src/main.js', import.meta.url))
const bench = (...args: string[]) => spawnSync(process.execPath, [entry, 'record', ...args], { encoding: 'utf8', timeout: 20_000 })

t.test('the test camera URL gives its size and loop; other sources have no counter', async (t) => {
  t.same(testCameraPlan('testsrc://?size=1920x1080&fps=60'), { width: 1920, height: 1080, loopFrames: 120 })
  t.same(testCameraPlan('testsrc://?size=320x240&fps=30&seconds=5'), { width: 320, height: 240, loopFrames: 150 })
  t.same(testCameraPlan('testsrc://'), { width: 1920, height: 1080, loopFrames: 60 }, 'testsrc.rs defaults: 30 fps, 2 s')
  t.equal(testCameraPlan('rtsp://cam/stream'), null)
  t.equal(nominalFps('testsrc://?fps=60'), 60)
  t.equal(nominalFps('file:///x.mp4'), null)
})

t.test('counter gaps: a loop is no gap, a skip counts the frames it skipped', async (t) => {
  t.same(counterGaps([117, 118, 119, 0, 1, 2], 120), { gaps: 0, missing: 0 }, 'the clip looping back to 0')
  t.same(counterGaps([10, 11, 14, 15], 120), { gaps: 1, missing: 2 }, 'frames 12 and 13 are missing')
  t.same(counterGaps([118, 1, 2], 120), { gaps: 1, missing: 2 }, 'a gap across the loop (119 and 0 missing)')
  t.same(counterGaps([5, 5, 6], 120), { gaps: 1, missing: 0 }, 'a repeat is wrong but loses nothing')
  t.same(counterGaps([], 120), { gaps: 0, missing: 0 })
})

t.test('the lead-in agrees with the first recorded counter, nearest to the polled estimate', async (t) => {
  t.equal(leadInFrames(28, 0, 120), 0, 'polled late by 28 frames; the file starts at frame 0')
  t.equal(leadInFrames(70, 60, 120), 60)
  t.equal(leadInFrames(175, 60, 120), 180, 'the next loop is nearer')
  t.equal(leadInFrames(7, null, null), 7, 'no counter: the estimate')
  t.equal(leadInFrames(-3, null, null), 0)
  t.equal(leadInFrames(15, null, null, 4), 4, 'never more than published and not recorded')
})

t.test('ratios and MB per hour', async (t) => {
  const r = recordRatios({ published: 36_000, recorded: 35_940, leadIn: 60, bytes: 500e6, seconds: 599 })
  t.equal(r.recorded_of_published, 35_940 / 36_000)
  t.equal(r.recorded_of_published_after_start, 1, 'everything after the first keyframe')
  t.ok(Math.abs(r.mb_per_hour - (500 * 3600) / 599) < 1e-9)
  t.ok(Math.abs(r.gb_per_day - (r.mb_per_hour * 24) / 1000) < 1e-9)
  t.equal(recordRatios({ published: 0, recorded: 0, leadIn: 0, bytes: 0, seconds: 0 }).mb_per_hour, 0, 'nothing recorded: 0, not NaN')
})

t.test('flags are checked before heart starts', async (t) => {
  const help = bench('--help')
  t.equal(help.status, 0)
  t.match(help.stdout, /usage: heart bench record/)
  t.match(help.stdout, /--seconds VALUE/)
  t.match(help.stdout, /--dir VALUE/)
  const negative = bench('--seconds', '-1')
  t.equal(negative.status, 2)
  t.match(negative.stderr, /--seconds: "-1" is not a positive number/)
  const path = bench('--source', 'camera.mp4')
  t.equal(path.status, 2)
  t.match(path.stderr, /--source: "camera.mp4" is not a camera URL/)
  t.equal(path.stdout, '', 'nothing ran')
  t.match(bench('--secnds', '5').stderr, /did you mean --seconds/)
})
