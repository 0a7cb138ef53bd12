// `heart run` pointed at an OTLP collector that is not there (a closed port)
// or that takes the connection and never answers: it says so once per
// signal, keeps running, and SIGTERM still stops it at once with exit 0.
// Before: no word in the logs, the capture worker missed its stop deadline,
// and the process lived 11 s past SIGTERM (the exporter's retry timers).
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { freeLoopbackPort, waitFor } from '@heart/telemetry/testing'

const bin = fileURLToPath(new URL('../src/bin.js', import.meta.url))

/**
 * Generous for a busy 2-core box: the fixed heart stops in 0.5 to 2 s (a
 * request still open to the silent collector ends at its 1 s timeout), the
 * unfixed one took 11 to 12 s.
 */
const STOP_BOUND_MS = 4000

/** A stack frame line, as Node prints them ("    at fn (file:line:col)"). */
const STACK_FRAME = /^\s+at .+[:(]/m

interface Stopped {
  code: number | null
  stopMs: number
  stderr: string
  lines: Record<string, unknown>[]
}

/** Runs heart against `endpoint` until both signals have warned and a few more exports have failed, then SIGTERM. */
async function runAgainst(t: Test, endpoint: string): Promise<Stopped> {
  const dir = t.testdir({})
  const config = join(dir, 'heart.yaml')
  writeFileSync(
    config,
    [
      'source: "synthetic://?size=64x48&fps=20"',
      'http: { port: 0 }',
      'thermal: { enabled: false }',
      'consumers: [{ name: check, kind: verify }]',
      'telemetry:',
      `  otlp: { endpoint: "${endpoint}", metricsIntervalMs: 200 }`,
      '  traces: { sampleEvery: 5, exportDelayMs: 200 }',
      '',
    ].join('\n'),
  )
  const child = spawn(process.execPath, [bin, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stdout.resume()
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => void child.kill('SIGKILL'))
  // One warning each: metrics from the main thread, traces from the capture worker.
  await waitFor(() => /OTLP metrics export/.test(stderr) && /OTLP traces/.test(stderr), 'both OTLP warnings')
  // Several more export intervals (200 ms) fail meanwhile; none may warn again.
  await new Promise((r) => setTimeout(r, 1500))
  t.equal(child.exitCode, null, 'heart keeps running with the collector down')
  const termAt = performance.now()
  child.kill('SIGTERM')
  const code = await exited
  const stopMs = performance.now() - termAt
  const lines = stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>
      } catch {
        return { notJson: l }
      }
    })
  return { code, stopMs, stderr, lines }
}

function checkStopped(t: Test, ran: Stopped, endpoint: string, why: RegExp): void {
  t.equal(ran.code, 0, 'SIGTERM: exit 0')
  t.ok(ran.stopMs < STOP_BOUND_MS, `stopped ${Math.round(ran.stopMs)} ms after SIGTERM (bound ${STOP_BOUND_MS} ms)`)
  t.notMatch(ran.stderr, /did not stop in time/, 'every worker stopped within its deadline')
  t.notMatch(ran.stderr, STACK_FRAME, 'no stack trace')
  t.same(
    ran.lines.filter((l) => 'notJson' in l),
    [],
    "every stderr line is one of heart's JSON log lines (no OpenTelemetry diag output)",
  )
  for (const [signal, path] of [
    ['metrics', '/v1/metrics'],
    ['traces', '/v1/traces'],
  ] as const) {
    const warnings = ran.lines.filter((l) => l['level'] === 'warn' && String(l['msg']).startsWith(`OTLP ${signal}`))
    t.equal(warnings.length, 1, `one ${signal} warning, however many exports failed`)
    t.equal(warnings[0]?.['endpoint'], `${endpoint}${path}`, `the ${signal} warning names the endpoint`)
    t.match(String(warnings[0]?.['msg']), why, 'and says why')
    t.match(String(warnings[0]?.['msg']), /telemetry\.otlp\.endpoint/, 'and which config key to check')
  }
  t.ok(
    ran.lines.some((l) => l['msg'] === 'heart stopped'),
    'heart stopped normally',
  )
}

t.test('a closed port: one warning per signal, and SIGTERM stops heart at once', async (t) => {
  // Nothing listens here.
  const endpoint = `http://127.0.0.1:${await freeLoopbackPort()}`
  const ran = await runAgainst(t, endpoint)
  checkStopped(t, ran, endpoint, /ECONNREFUSED/)
})

t.test('a collector that accepts and never answers: one warning per signal, and SIGTERM is not held by the hanging requests', async (t) => {
  // Where a firewall drops packets connect() hangs; this is the same wait
  // without any network: the request is sent and no answer ever comes.
  const sockets: Socket[] = []
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => undefined)
    socket.resume()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  const address = server.address()
  const endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  const ran = await runAgainst(t, endpoint)
  checkStopped(t, ran, endpoint, /no answer within \d+ ms/)
})
