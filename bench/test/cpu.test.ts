// `heart bench cpu` in miniature, through the command as a user runs it: one
// round of 3 s a side on the default workload. Checks the report's shape
// (docs/bench.md, "Reading the JSON") and that both sides measured
// something; the figures are printed, never asserted (this box is shared).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchReport } from '../src/report.js'

const entry = fileURLToPath(new URL('../src/main.js', import.meta.url))

t.test('bench cpu --rounds 1 --seconds 3: both sides measured, the JSON in the bench shape with the breakdown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heart-bench-cpu-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const json = join(dir, 'cpu.json')
  const r = spawnSync(process.execPath, [entry, 'cpu', '--rounds', '1', '--seconds', '3', '--warmup', '2', '--json', json], { encoding: 'utf8', timeout: 180_000 })
  t.comment(r.stdout)
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /round 1\/1: heart [\d.]+ % .*ffmpeg [\d.]+ %/)
  const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport
  t.equal(report.scope, 'cpu')
  t.match(report.machine, { cores: Number, source: 'testsrc://?size=1920x1080&fps=60', ffmpeg_command: /^ffmpeg .*-thread_type slice .*-re -stream_loop -1 -i .*testsrc-v\d+-h264-1920x1080-60fps-\d+s\.mp4 -f null -$/, rounds: 1, load_average_start: String })
  const { heart, ffmpeg, heart_threads: threads, heart_health_cpu_percent: health } = report.results
  for (const [name, side] of [['heart', heart], ['ffmpeg', ffmpeg]] as const) {
    t.ok((side!['cpu_percent'] as number) > 0, `${name} used CPU: ${side!['cpu_percent']} %`)
    t.ok((side!['frames_per_s'] as number) > 0, `${name} decoded frames: ${side!['frames_per_s']} fps`)
    t.ok((side!['rss_mb'] as number) > 0, `${name} RSS ${side!['rss_mb']} MB`)
  }
  t.type(heart!['tick_ms_p99'], 'number', 'tick p99 over the whole run, from the summary')
  for (const name of ['main', 'capture', 'movement_detect', 'thermal']) t.type(threads![name], 'number', `thread ${name} in the breakdown`)
  t.type(health!['main'], 'number', "/health's main_thread.cpu_percent was read")
  t.type(health!['movement_detector'], 'number', "/health's workers.movement_detector.cpu_percent was read")
  for (const ratio of ['cpu_heart_vs_ffmpeg', 'cpu_heart_vs_ffmpeg_paired', 'rss_heart_vs_ffmpeg']) t.ok(report.ratios[ratio]! > 0, `${ratio} = ${report.ratios[ratio]}`)
})
