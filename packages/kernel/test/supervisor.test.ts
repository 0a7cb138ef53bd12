import t from 'tap'
import { Supervisor, KernelError } from '../src/index.js'
import { waitFor } from '@heart/telemetry/testing'

const entry = new URL('./fixtures/echo-service.js', import.meta.url)

t.test('a service starts, reports running, emits events and logs, and stops cleanly', async (t) => {
  const events: Array<[string, string, unknown]> = []
  const logs: string[] = []
  const logger = { debug() {}, warn() {}, error() {}, info: (m: string, f?: Record<string, unknown>) => logs.push(`${f?.service}:${m}`) }
  const exits: string[] = []
  const sup = new Supervisor({ onEvent: (s, type, p) => events.push([s, type, p]), onThreadExit: (s) => exits.push(s) }, logger)
  t.teardown(() => sup.stopAll(500))
  sup.start({ name: 'echo', entry, config: { mode: 'wait-for-stop' }, shared: { ring: new SharedArrayBuffer(8) } })
  t.throws(() => sup.start({ name: 'echo', entry }), { code: 'SERVICE_EXISTS' })
  await waitFor(() => sup.status('echo').state === 'running' && events.length > 0)
  t.same(events[0], ['echo', 'echo.started', { name: 'echo', hasShared: ['ring'] }])
  t.ok(sup.worker('echo'))
  const before = performance.now()
  await sup.stopAll(2000)
  t.ok(performance.now() - before < 2000, 'stopped on request, not by timeout')
  t.same(exits, ['echo'])
  t.ok(logs.includes('echo:stopping'), 'the worker saw its abort signal')
  t.throws(() => sup.status('echo'), KernelError)
})

t.test('a crashed service is restarted with backoff and the reason is kept', async (t) => {
  const crashes: Array<[string, number]> = []
  const sup = new Supervisor({ onCrash: (_s, crash, backoff) => crashes.push([crash.reason, backoff]) })
  t.teardown(() => sup.stopAll(500))
  const flag = new SharedArrayBuffer(4)
  sup.start({ name: 'crashy', entry, config: { mode: 'crash-after', ms: 5, crashFlag: 'flag' }, shared: { flag }, restart: { initialMs: 20, maxMs: 1000 } })
  await waitFor(() => sup.status('crashy').starts === 3 && sup.status('crashy').state === 'running')
  const s = sup.status('crashy')
  t.equal(s.crashes, 2)
  t.match(s.lastCrash, { reason: /planned crash in life 1/ })
  t.same(crashes.map((c) => c[1]), [20, 40], 'exponential backoff')
  t.match(crashes[0]![0], /Error: planned crash in life 0/)
  t.equal(s.nextBackoffMs, 80)
})

t.test('an unexpected exit is a crash; restart can be disabled', async (t) => {
  const sup = new Supervisor()
  t.teardown(() => sup.stopAll(500))
  sup.start({ name: 'exits', entry, config: { mode: 'exit-code' }, restart: { enabled: false } })
  await waitFor(() => sup.status('exits').state === 'failed')
  t.match(sup.status('exits').lastCrash, { exitCode: 3, reason: /exited with code 3/ })
})

t.test('a service that finishes on its own is not restarted', async (t) => {
  const sup = new Supervisor()
  sup.start({ name: 'oneshot', entry, config: { mode: 'finish' }, restart: { initialMs: 10 } })
  await waitFor(() => sup.status('oneshot').state === 'stopped')
  await new Promise((r) => setTimeout(r, 50))
  t.equal(sup.status('oneshot').starts, 1)
  t.equal(sup.status('oneshot').crashes, 0)
  await sup.stop('oneshot', 500)
  await t.rejects(sup.stop('oneshot'), { code: 'SERVICE_NOT_FOUND' })
})

t.test('a worker that ignores the stop request is terminated within the timeout', async (t) => {
  const warnings: string[] = []
  const sup = new Supervisor({}, { debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m) })
  sup.start({ name: 'stubborn', entry, config: { mode: 'ignore-stop' } })
  await waitFor(() => sup.status('stubborn').state === 'running')
  const before = performance.now()
  await sup.stopAll(300)
  const took = performance.now() - before
  t.ok(took >= 290, `waited for the timeout (${took.toFixed(0)} ms)`)
  t.match(warnings, [/did not stop in time/])
})

t.test('worker log fields (the trace of a sampled frame) travel with its log lines', async (t) => {
  const lines: Array<[string, Record<string, unknown> | undefined]> = []
  const logger = { debug() {}, warn() {}, error() {}, info: (m: string, f?: Record<string, unknown>) => lines.push([m, f]) }
  const sup = new Supervisor({}, logger)
  t.teardown(() => sup.stopAll(500))
  sup.start({ name: 'logs', entry: new URL('./fixtures/log-fields-service.js', import.meta.url), restart: { enabled: false } })
  await waitFor(() => lines.length >= 3)
  t.same(lines[0], ['plain', { service: 'logs' }])
  t.same(lines[1], ['inside a sampled frame', { service: 'logs', trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331', seq: 60 }])
  t.same(lines[2], ['after', { service: 'logs' }])
})

t.test('each worker reports its own heap, so a growing one can be told apart', async (t) => {
  let holding = false
  const sup = new Supervisor({ onEvent: (_s, type) => (holding ||= type === 'echo.holding') })
  t.teardown(() => sup.stopAll(500))
  sup.start({ name: 'idle', entry, config: { mode: 'wait-for-stop' }, memoryReportMs: 50 })
  t.equal(sup.status('idle').memory, null, 'nothing before the first report')
  sup.start({ name: 'holder', entry, config: { mode: 'hold-memory', mb: 150 }, memoryReportMs: 50 })
  const used = (name: string): number => sup.status(name).memory?.heapUsedBytes ?? 0
  await waitFor(() => holding && used('idle') > 0)
  // Reports that come after the allocation: the holder's heap holds 150 MB of
  // live arrays; the idle worker's heap (module code plus garbage not yet
  // collected, a few tens of MB) cannot reach that.
  await waitFor(() => used('holder') > 150e6)
  const idle = sup.status('idle').memory!
  t.ok(idle.heapUsedBytes < 150e6, `idle worker ${(idle.heapUsedBytes / 1e6).toFixed(1)} MB, holder ${(used('holder') / 1e6).toFixed(1)} MB`)
  t.ok(idle.heapTotalBytes >= idle.heapUsedBytes, 'total covers used')
})

t.test('with startSpacingMs, first starts go one after another: each once the one before has loaded, plus the spacing', async (t) => {
  const spawnedAt = new Map<string, number>()
  const sup = new Supervisor({}, undefined, { startSpacingMs: 150 })
  t.teardown(() => sup.stopAll(500))
  const t0 = performance.now()
  for (const name of ['first', 'second', 'third']) sup.start({ name, entry, config: { mode: 'wait-for-stop' } })
  t.same(['first', 'second', 'third'].map((n) => sup.status(n).starts), [1, 0, 0], 'only the first is spawned at once')
  t.same(['first', 'second', 'third'].map((n) => sup.status(n).state), ['starting', 'starting', 'starting'], 'the others wait, starting')
  await waitFor(() => {
    for (const name of ['first', 'second', 'third']) if (sup.status(name).starts > 0 && !spawnedAt.has(name)) spawnedAt.set(name, performance.now() - t0)
    return sup.status('third').state === 'running'
  })
  const [a, b, c] = ['first', 'second', 'third'].map((n) => spawnedAt.get(n)!)
  t.ok(b! - a! >= 150, `the second waits for the first to load and 150 ms more (${Math.round(b! - a!)} ms)`)
  t.ok(c! - b! >= 150, `and the third for the second (${Math.round(c! - b!)} ms)`)
  t.ok(c! - a! < 2 * 150 + 2 * 1000 + 500, 'bounded: never more than the spacing and the longest wait per start')
})

t.test('a start stopped while it waits for its turn never spawns, and the queue moves on when a worker exits early', async (t) => {
  const sup = new Supervisor({}, undefined, { startSpacingMs: 100 })
  t.teardown(() => sup.stopAll(500))
  sup.start({ name: 'quits', entry, config: { mode: 'exit-code' }, restart: { enabled: false } })
  sup.start({ name: 'dropped', entry, config: { mode: 'wait-for-stop' } })
  sup.start({ name: 'last', entry, config: { mode: 'wait-for-stop' } })
  await sup.stop('dropped', 500)
  await waitFor(() => sup.status('last').state === 'running')
  t.equal(sup.status('quits').state, 'failed', 'the first exited (and is not restarted)')
  t.throws(() => sup.status('dropped'), KernelError, 'the stopped one is gone')
  t.equal(sup.status('last').starts, 1, 'the one after it started')
})
