import t from 'tap'
import type { FrameRing } from '@heart/ring'
import { Kernel, ProgressStamps, ProgressWatch, procThreadCpuMs, type HealthReport } from '../src/index.js'
import { sleep, waitFor } from '@heart/telemetry/testing'
import { produce, testLayout } from './fixtures/produce.js'

const unruly = new URL('./fixtures/unruly-consumer.js', import.meta.url)
const counting = new URL('./fixtures/counting-consumer.js', import.meta.url)
const layout = testLayout

function startKernel(t: { teardown(fn: () => unknown): void }, stallMs: number): { kernel: Kernel; ring: FrameRing } {
  const kernel = new Kernel({ supervisor: { restartInitialMs: 50, stallMs } })
  t.teardown(() => kernel.stop())
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 4, defaultDepth: 4, maxDepth: 32 })
  // Deep queues: on a loaded two-core box a steady consumer may be descheduled for a while, which is not what is tested.
  for (const name of ['steady_a', 'steady_b']) kernel.startConsumer({ name, entry: counting, ring: 'camera', consumer: { depth: 32 } })
  return { kernel, ring }
}

const delivered = (report: HealthReport, name: string): number => report.consumers[name]?.delivered ?? 0

for (const mode of ['busy-loop', 'never-resolve'] as const) {
  t.test(`a consumer whose handler ${mode === 'busy-loop' ? 'busy-loops forever' : 'never resolves'} is restarted as stalled within stallMs`, async (t) => {
    // Long enough that a steady consumer starved by a loaded two-core box (tap, other builds) is not judged stuck.
    const stallMs = 2000
    const { kernel, ring } = startKernel(t, stallMs)
    const crashes: Array<{ service: string; code: string; reason: string; atMs: number }> = []
    kernel.on('worker.crashed', (e) => crashes.push({ ...e.payload, atMs: performance.now() }))
    let misbehavingAtMs = 0
    kernel.on('unruly.misbehaving', () => (misbehavingAtMs = performance.now()))
    const lives: number[] = []
    kernel.on('unruly.life', (e) => lives.push((e.payload as { life: number }).life))
    kernel.start()
    const stopProducing = produce(ring)
    t.teardown(stopProducing)
    // The steady ones take frames first, so "they kept receiving" means something.
    const state = () => ({ reasons: kernel.report().reasons, workers: kernel.report().workers, consumers: kernel.report().consumers, crashes, lives })
    await waitFor(() => ['steady_a', 'steady_b'].every((name) => delivered(kernel.report(), name) > 10), 'the steady consumers take frames', state)
    kernel.startConsumer({ name: 'unruly', entry: unruly, ring: 'camera', app: { mode, lifeFlag: 'life' }, shared: { life: new SharedArrayBuffer(4) } })

    await waitFor(() => misbehavingAtMs > 0, 'the unruly consumer misbehaves', state)
    const steadyBefore = kernel.report()
    // Sample health from half the limit on until the second life takes frames again.
    await sleep(stallMs / 2 + 150)
    const samples: HealthReport[] = []
    await waitFor(() => {
      const r = kernel.report()
      samples.push(r)
      return lives.length === 2 && r.workers.unruly?.state === 'running' && (r.consumers.unruly?.delivered ?? 0) > 0 && r.consumers.unruly?.worker?.restarts === 1
    }, 'its second life takes frames', state)
    t.same(crashes.map((c) => c.service), ['unruly'], `one restart, of the unruly consumer (${crashes.map((c) => `${c.service}: ${c.reason}`).join('; ')})`)
    t.equal(crashes[0]!.code, 'stalled', 'the restart reason is stalled')
    t.match(crashes[0]!.reason, mode === 'busy-loop' ? /its event loop is blocked/ : /its event loop still runs/)
    const tookMs = crashes[0]!.atMs - misbehavingAtMs
    t.ok(tookMs >= stallMs - 50 && tookMs <= stallMs + 1500, `restarted ${tookMs.toFixed(0)} ms after it stalled (stallMs ${stallMs})`)
    for (const r of samples) {
      t.not(r.status, 'green', 'health is not green while it is stalled or restarting')
      if (!r.reasons.some((why) => why.includes('unruly'))) t.fail(`health names the consumer: ${r.reasons.join('; ')}`)
    }
    t.ok(samples.some((r) => /unruly has finished no frame/.test(r.reasons.join(';'))), 'health warned before the restart')
    const after = kernel.report()
    t.equal(after.workers.unruly!.last_exit, 'stalled')
    for (const name of ['steady_a', 'steady_b']) {
      t.ok(delivered(after, name) > delivered(steadyBefore, name) + 50, `${name} kept receiving frames (${delivered(steadyBefore, name)} -> ${delivered(after, name)})`)
      t.same(Object.values(after.consumers[name]!.dropped).filter((n) => n > 0), [], `${name} dropped nothing (${JSON.stringify(after.consumers[name]!.dropped)})`)
    }
  })
}

t.test('a consumer that takes no frame because none is queued is not stalled', async (t) => {
  const { kernel } = startKernel(t, 200)
  kernel.startConsumer({ name: 'unruly', entry: unruly, ring: 'camera', app: { mode: 'never-resolve', afterFrames: 0 } })
  kernel.start()
  await waitFor(() => kernel.supervisor.status('unruly').state === 'running', 'it runs')
  await sleep(600)
  t.equal(kernel.supervisor.status('unruly').crashes, 0, 'no frames, nothing to stall on')
})

t.test('a consumer that hoards memory is stopped at its heap limit, named out_of_memory and restarted under backoff', async (t) => {
  const { kernel, ring } = startKernel(t, 5000)
  const crashes: Array<{ code: string; reason: string; restartInMs: number }> = []
  kernel.on('worker.crashed', (e) => crashes.push(e.payload))
  const rssBefore = process.memoryUsage().rss
  kernel.startConsumer({ name: 'hoarder', entry: unruly, ring: 'camera', app: { mode: 'hoard', everyLife: true }, resourceLimits: { maxOldGenerationSizeMb: 48 } })
  kernel.start()
  const stopProducing = produce(ring)
  t.teardown(stopProducing)
  let rssMax = 0
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 20)
  t.teardown(() => clearInterval(sampler))
  const steadyBefore = kernel.report()
  await waitFor(() => crashes.length >= 3, 'three out_of_memory crashes', () => ({ crashes, workers: kernel.report().workers }))
  const report = kernel.report()
  t.same(
    crashes.slice(0, 3).map((c) => c.code),
    ['out_of_memory', 'out_of_memory', 'out_of_memory'],
    'each life ends as out_of_memory',
  )
  t.match(crashes[0]!.reason, /out_of_memory: .*maxOldGenerationSizeMb/)
  t.same(crashes.slice(0, 3).map((c) => c.restartInMs), [50, 100, 200], 'restarted under the exponential backoff')
  t.equal(report.workers.hoarder!.last_exit, 'out_of_memory')
  t.equal(report.workers.hoarder!.crash_looping, true)
  t.not(report.status, 'green')
  t.match(report.reasons.join(';'), /consumer hoarder is crash-looping .*out_of_memory/)
  const grewMb = (rssMax - rssBefore) / 1048576
  t.ok(grewMb < 600, `process RSS grew by ${grewMb.toFixed(0)} MB at most (bounded by the worker's heap limit)`)
  for (const name of ['steady_a', 'steady_b']) {
    t.ok(delivered(report, name) > delivered(steadyBefore, name) + 30, `${name} kept receiving frames`)
    t.equal(report.workers[name]!.crashes, 0)
  }
})

t.test('the consumer runtime yields: a busy consumer with frames always queued still runs its timers', async (t) => {
  const { kernel, ring } = startKernel(t, 5000)
  let fired = 0
  kernel.on('unruly.timer', () => fired++)
  // 15 ms of work a frame against a frame every 10 ms: its queue is never empty.
  kernel.startConsumer({ name: 'busy', entry: unruly, ring: 'camera', app: { mode: 'timer', spinMs: 15 }, consumer: { depth: 8 } })
  kernel.start()
  await waitFor(() => kernel.supervisor.status('busy').state === 'running', 'it runs')
  const stopProducing = produce(ring)
  t.teardown(stopProducing)
  await waitFor(() => (kernel.report().consumers.busy?.delivered ?? 0) > 5, 'it takes frames')
  const firedBefore = fired
  const lagged: number[] = []
  for (let i = 0; i < 20; i++) {
    await sleep(100)
    lagged.push(kernel.report().consumers.busy?.lag ?? 0)
  }
  t.ok(lagged.filter((l) => l > 0).length >= 18, `frames were queued nearly all the time (lag ${lagged.join(',')})`)
  // 2 s of a 50 ms timer: 40 firings if the loop turned freely; a few are lost to the 15 ms frames.
  t.ok(fired - firedBefore >= 20, `its 50 ms timer fired ${fired - firedBefore} times in 2 s`)
  t.equal(kernel.supervisor.status('busy').crashes, 0, 'slow is not stalled')
})

t.test('the progress block: stamps on the worker side move the watch on the main side', async (t) => {
  let queued = 3
  const watch = new ProgressWatch(100, () => queued, () => 0)
  const stamps = ProgressStamps.attach(watch.buffer)
  stamps.thread(4242)
  watch.reset(0)
  t.equal(watch.check(500), null, 'not joined yet: nothing to judge')
  stamps.joined(0)
  t.equal(watch.check(550), null, 'frames waiting: the clock starts')
  stamps.frame()
  t.equal(watch.check(640), null, 'a frame finished: progress')
  // A pending promise: the loop keeps turning (a turn per 10 ms here), no frame finishes.
  let now = 640
  let verdict = null
  while (verdict === null && now < 2000) {
    now += 10
    stamps.turn()
    verdict = watch.check(now)
  }
  t.same(verdict, { stalledMs: 100, queued: 3, loopBlocked: false }, 'stalled at stallMs, its loop still running')
  t.equal(watch.stalledForMs(now), 100)
  queued = 0
  t.equal(watch.check(now + 10), null, 'an empty queue is keeping up')
  t.equal(watch.stalledForMs(now + 10), 0)
})

t.test('the watch tells a stuck thread from a starved one', async (t) => {
  let cpu = 0
  const watch = new ProgressWatch(100, () => 2, () => cpu)
  const stamps = ProgressStamps.attach(watch.buffer)
  stamps.thread(4242)
  watch.reset(0)
  stamps.joined(0)
  watch.check(0)
  // No turn, no CPU: the box gave it no time. Not stalled, however long.
  for (let now = 10; now <= 1000; now += 10) {
    if (watch.check(now) !== null) t.fail(`starved, judged stalled at ${now} ms`)
  }
  // Now it gets a core and spends it in a loop that never yields.
  let verdict = null
  let now = 1000
  while (verdict === null && now < 3000) {
    now += 10
    cpu += 10
    verdict = watch.check(now)
  }
  t.match(verdict, { loopBlocked: true }, 'a busy loop: no turn, but the CPU it used')
  t.ok(now - 1000 <= 100, `caught within stallMs once it was busy (${now - 1000} ms)`)

  // A loop that turns once in a long while is starved too, not idling on a promise.
  // (No CPU figure here, as off Linux: the turns alone decide.)
  const sparse = new ProgressWatch(1000, () => 2, () => null)
  const sparseStamps = ProgressStamps.attach(sparse.buffer)
  sparse.reset(0)
  sparseStamps.joined(0)
  for (let at = 10; at <= 6000; at += 10) {
    if (at % 700 === 0) sparseStamps.turn()
    if (sparse.check(at) !== null) t.fail(`a sparsely turning loop judged stalled at ${at} ms`)
  }
  t.pass('a sparsely turning loop is not judged stalled')
})

t.test("a thread's CPU time, read from /proc (Linux), grows while it works", { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  // The main thread's OS thread id is the process id.
  const before = procThreadCpuMs(process.pid)
  t.ok(before !== null && before >= 0)
  // Burn CPU on purpose until the figure moves (a loaded box gives this thread only part of a core).
  const end = performance.now() + 10_000
  let after = before
  while (after === before && performance.now() < end) after = procThreadCpuMs(process.pid)
  t.ok(after !== null && after > before!, `${before} -> ${after} ms`)
  t.equal(procThreadCpuMs(2 ** 30), null, 'no such thread')
})
