// heart run with unruly application consumers: the config's per-consumer
// stallMs and resourceLimits reach the supervisor, the watchdog and the heap
// limit restart them, and health and the status line name them while the
// camera and the other consumers keep running.
import t from 'tap'
import { sleep, waitFor } from '@heart/telemetry/testing'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { runHeart } from '../src/index.js'
import { statusLine } from '../src/status-line.js'


t.test('a busy-looping and a hoarding module consumer are restarted as stalled and out_of_memory; the rest runs on', async (t) => {
  const dir = t.testdir({
    'heart.yaml': [
      'source: "synthetic://?size=320x240&fps=60"',
      'http: { port: 0 }',
      'thermal: { enabled: false }',
      'supervisor: { restartInitialMs: 100 }',
      'consumers:',
      '  - { name: frame_verifier, kind: verify, depth: 16 }',
      '  - { name: stuck, kind: module, module: ./stuck.mjs, stallMs: 700 }',
      '  - { name: hoarder, kind: module, module: ./hoarder.mjs, resourceLimits: { maxOldGenerationSizeMb: 32 } }',
      '',
    ].join('\n'),
    // Takes ten frames, then never returns from the eleventh.
    'stuck.mjs': 'export default () => { let n = 0; return { onFrame() { if (++n > 10) for (;;) {} } } }\n',
    // Keeps 4 MB of live arrays per frame.
    'hoarder.mjs': 'const kept = []\nexport default () => ({ onFrame() { for (let i = 0; i < 5; i++) kept.push(new Array(100000).fill(i)) } })\n',
  })
  const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), status: false, logger: silentLogger })
  t.teardown(() => heart.stop())
  const crashes: Array<{ service: string; code: string }> = []
  heart.kernel.on('worker.crashed', (e) => crashes.push(e.payload))
  const startedMs = performance.now()
  const lines: string[] = []
  await waitFor(() => {
    lines.push(statusLine(heart.report(), false))
    return crashes.some((c) => c.service === 'stuck') && crashes.filter((c) => c.service === 'hoarder').length >= 2
  })
  const firstStallMs = performance.now() - startedMs
  const verifiedBefore = heart.report().consumers.frame_verifier!.delivered
  await sleep(1000)
  const report = heart.report()
  t.same([...new Set(crashes.filter((c) => c.service === 'stuck').map((c) => c.code))], ['stalled'], 'the busy loop is restarted as stalled')
  t.same([...new Set(crashes.filter((c) => c.service === 'hoarder').map((c) => c.code))], ['out_of_memory'], 'the hoarder is restarted as out_of_memory')
  // From the start of the run, start-up included (seconds on a loaded box); the watchdog test times stallMs itself.
  t.ok(firstStallMs < 30_000, `the first stall was caught ${firstStallMs.toFixed(0)} ms into the run (stallMs 700)`)
  t.equal(report.workers.stuck!.stall_ms, 700, "the entry's stallMs reached the watchdog")
  t.not(report.status, 'green')
  // The busy loop stalls again after every restart: a look lands either on a stall being timed (no frame
  // finished for N ms) or on the restart it caused; both name the consumer and its stall.
  t.match(report.reasons.join(';'), /stuck (.*stalled|has finished no frame for \d+ ms with frames queued)/)
  t.match(report.reasons.join(';'), /hoarder .*out_of_memory/)
  t.ok(lines.some((l) => /\| attention: .*stuck (stalled|restarting|stuck)/.test(l)), 'the status line named the stuck consumer while it was stuck or restarting')
  t.ok(lines.some((l) => /\| attention: .*hoarder (restarting \(out_of_memory\)|crash-looping)/.test(l)), 'and the hoarder while it restarted')
  t.equal(report.camera.state, 'streaming', 'the camera keeps streaming')
  t.ok(report.consumers.frame_verifier!.delivered > verifiedBefore + 20, 'the verifier keeps receiving frames')
  t.equal(report.workers.frame_verifier!.crashes, 0, `the verifier never crashed (${report.workers.frame_verifier!.last_crash})`)
  const metrics = await (await fetch(`http://127.0.0.1:${heart.http.port}/metrics`)).text()
  t.match(metrics, /heart_consumer_restarts_total\{[^}]*consumer="stuck"[^}]*reason="stalled"[^}]*\} [1-9]/, 'restarts by reason are exported')
  t.match(metrics, /heart_consumer_restarts_total\{[^}]*consumer="hoarder"[^}]*reason="out_of_memory"[^}]*\} [1-9]/)
})
