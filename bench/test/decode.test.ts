// `heart bench decode` in miniature: one round on a 1 s H.264 clip. Checks
// the report's shape (the keys docs/architecture.md promises) and that each peer really
// decoded every frame; the speed figures are printed, never asserted.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchDecode } from '../src/decode.js'

t.test('one round on a short clip: every peer decodes every frame, the JSON has the promised keys', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heart-bench-decode-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  process.env.HEART_CACHE_DIR = dir // a private clip cache
  const json = join(dir, 'decode.json')
  const lines: string[] = []
  const report = await benchDecode({ seconds: 1, runs: 1, codecs: ['h264'], json, log: (l) => lines.push(l) })
  t.comment(lines.join('\n'))
  t.same(JSON.parse(readFileSync(json, 'utf8')), report, 'the JSON file is the report')
  t.equal(report.scope, 'decode')
  t.match(report.machine, { cores: Number, load_average_start: String, load_average_end: String })
  for (const peer of ['heart', 'ffmpeg_cli', 'ffmpeg_pipe', 'heart_no_consumers']) {
    const r = report.results[peer]!
    t.equal(r.frames, 60, `${peer}: 60 frames decoded`)
    t.ok((r.fps as number) > 0 && (r.cpu_ms_per_frame as number) > 0, `${peer}: fps ${r.fps}, ${r.cpu_ms_per_frame} ms CPU per frame`)
  }
  const heart = report.results.heart!
  t.equal((heart.consumer_delivered_min as number) + (heart.consumer_dropped_max as number) >= 60, true, 'each consumer got or counted every frame')
  for (const ratio of ['heart_fps_vs_cli', 'heart_cpu_vs_cli', 'pipe_fps_vs_cli', 'pipe_cpu_vs_cli']) {
    t.ok(report.ratios[ratio]! > 0, `${ratio} = ${report.ratios[ratio]}`)
  }
})
