// The recorder's Prometheus series during a real recording: the test camera
// through the packet ring into the recorder worker, read back from GET
// /metrics. The counters must move while it records and agree with
// /health; a recorder paused by retain.minFreeMb shows in the gauge and in
// its drops.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { waitFor } from '@heart/telemetry/testing'
import { runHeart } from '../src/run.js'

interface RecorderBooks {
  state: string
  frames_total: number
  bytes_total: number
  segments_total: number
  dropped: { recorder_slow: number; recorder_paused: number }
}

/** A small test camera recording into DIR/rec, 2 s segments; minFreeMb decides whether it may record at all. */
function config(dir: string, minFreeMb: number): string {
  const file = join(dir, 'heart.json')
  const record = { enabled: true, dir: 'rec', segmentSeconds: 2, fragmentSeconds: 0.5, retain: { minFreeMb } }
  writeFileSync(file, JSON.stringify({ source: 'testsrc://?size=320x240&fps=30', http: { port: 0 }, thermal: { enabled: false }, consumers: [], record }))
  return file
}

/** One series' value from the Prometheus text, or null when it is not there. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? null : Number(line.slice(series.length + 1))
}

async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
}

t.test('heart.recorder.* counters move while the recorder writes, and agree with /health', async (t) => {
  const heart = await runHeart({ configFile: config(t.testdir({}), 0), status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  const books = (): RecorderBooks | null => (heart.report() as unknown as { recorder?: RecorderBooks | null }).recorder ?? null
  await waitFor(() => (books()?.frames_total ?? 0) >= 30, 'the recorder to write a second of frames', () => books())
  const first = await scrape(heart.http.port)
  const frames1 = sample(first, 'heart_recorder_frames_total{camera="main"}')
  t.ok(frames1 !== null && frames1 > 0, `frames counted: ${frames1}`)
  t.ok(sample(first, 'heart_recorder_bytes_total{camera="main"}')! > 0, 'bytes counted')
  t.ok(sample(first, 'heart_recorder_segments_total{camera="main"}')! >= 1, 'a segment started')
  t.equal(sample(first, 'heart_recorder_paused{camera="main"}'), 0, 'not paused')
  t.equal(sample(first, 'heart_recorder_dropped_total{camera="main",reason="recorder_slow"}'), 0, 'nothing lost')

  // A second segment, and fragments of it on disk (a segment starts with none: frames count once a fragment is written).
  await waitFor(() => (books()?.segments_total ?? 0) >= 2 && (books()?.frames_total ?? 0) > frames1! + 15, 'frames of a second segment', () => books())
  const health = books()!
  const second = await scrape(heart.http.port)
  const frames2 = sample(second, 'heart_recorder_frames_total{camera="main"}')!
  t.ok(frames2 > frames1!, `the frame counter moved: ${frames1} -> ${frames2}`)
  t.ok(sample(second, 'heart_recorder_segments_total{camera="main"}')! >= 2, 'segments counted as they start')
  // Both are refreshed from the same totals every 500 ms: at 30 FPS they differ by at most that much.
  t.ok(Math.abs(frames2 - health.frames_total) <= 20, `metrics (${frames2}) and /health (${health.frames_total}) agree`)
})

t.test('a recorder paused for free space sets heart.recorder.paused and counts its drops', async (t) => {
  // More free space demanded than any disk has: retention cannot help, so recording pauses.
  const heart = await runHeart({ configFile: config(t.testdir({}), 1e9), status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  const books = (): RecorderBooks | null => (heart.report() as unknown as { recorder?: RecorderBooks | null }).recorder ?? null
  await waitFor(() => books()?.state === 'paused_disk_full' && books()!.dropped.recorder_paused > 0, 'the recorder to pause and drop', () => books())
  await waitFor(async () => sample(await scrape(heart.http.port), 'heart_recorder_dropped_total{camera="main",reason="recorder_paused"}')! > 0, 'the paused drops on /metrics')
  const text = await scrape(heart.http.port)
  t.equal(sample(text, 'heart_recorder_paused{camera="main"}'), 1, 'paused: 1')
  t.equal(sample(text, 'heart_recorder_frames_total{camera="main"}'), 0, 'nothing written')
})
