// The short form of `heart bench pool`: 2 cameras, a few seconds a mode. It
// checks the report and the books (every published frame was either run
// through motion or counted lost by the ring), not the timings: the figures
// come from the full run in docs/performance.md.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { benchPool, parsePoolModes, POOL_MODES } from '../src/pool.js'

t.test('every mode moves frames through motion, and processed + lost = published per camera', async (t) => {
  const lines: string[] = []
  const { report, pass } = await benchPool({ seconds: 2, rounds: 1, cameras: 2, warmupS: 0.5, log: (line) => lines.push(line) })
  t.equal(report.scope, 'pool')
  t.same(Object.keys(report).sort(), ['machine', 'ratios', 'results', 'scope'])
  t.equal(report.machine['cameras'], 2)
  for (const mode of POOL_MODES) {
    const figures = report.results[mode]!
    t.ok(figures, `${mode}: figures`)
    t.ok((figures['frames_processed'] as number) > 0, `${mode}: frames flowed (${figures['frames_processed']} processed)`)
    t.ok((figures['frames_with_motion_percent'] as number) > 50, `${mode}: the moving pattern gave motion work (${figures['frames_with_motion_percent']} % of frames with boxes)`)
    t.ok((figures['cpu_percent'] as number) > 0, `${mode}: CPU was read`)
    t.type(figures['latency_ms_p99'], 'number')
    for (const camera of [0, 1]) {
      const books = report.results[`${mode}_camera_${camera}`]!
      t.ok((books['published'] as number) > 30, `${mode} camera ${camera}: published ${books['published']}`)
      t.equal((books['processed'] as number) + (books['lost'] as number), books['published'], `${mode} camera ${camera}: processed + lost = published`)
    }
    t.ok(Object.keys(report.results[`${mode}_threads`]!).includes('feed'), `${mode}: per-thread CPU names the producer`)
  }
  t.ok(Object.keys(report.results['piscina_threads']!).some((name) => name.startsWith('pool_')), 'the piscina threads are named and measured')
  t.ok(Object.keys(report.results['threads_threads']!).includes('motion_1'), 'one thread per camera in threads mode')
  t.type(report.ratios['cpu_percent_piscina_vs_threads'], 'number')
  t.type(report.ratios['latency_ms_p99_shared_vs_threads'], 'number')
  t.equal(pass, POOL_MODES.every((m) => report.results[m]!['frames_lost'] === 0), 'pass means no camera lost a frame')
  t.ok(lines.some((l) => l.startsWith('round 1/1 piscina:')), 'each mode logs its round')
})

t.test('--modes and --cameras are checked before anything runs', async (t) => {
  t.same(parsePoolModes('piscina,threads'), ['piscina', 'threads'])
  t.throws(() => parsePoolModes('threads,pool'), /--modes: unknown mode "pool"; use any of threads, piscina, shared/)
  await t.rejects(benchPool({ cameras: 0.5, log: () => {} }), /--cameras: 0.5 is not allowed; use an integer from 1 to 16/)
  const entry = fileURLToPath(new URL('../src/main.js', import.meta.url))
  const r = spawnSync(process.execPath, [entry, 'pool', '--cameras', '40'], { encoding: 'utf8', timeout: 20_000 })
  t.equal(r.status, 2)
  t.match(r.stderr, /--cameras: 40 is not allowed/)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  const help = spawnSync(process.execPath, [entry, 'pool', '--help'], { encoding: 'utf8', timeout: 20_000 })
  t.equal(help.status, 0)
  for (const flag of ['--seconds VALUE', '--rounds VALUE', '--cameras VALUE', '--modes VALUE', '--warmup VALUE', '--json VALUE']) t.match(help.stdout, flag)
})
