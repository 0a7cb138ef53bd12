import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { MetricsRegistry } from '@heart/telemetry'
import { Kernel, KernelMetric, MAIN_THREAD, MetricsUpkeep, ThreadCpuMeter, kernelMetrics, nameCurrentThread } from '../src/index.js'
import { waitFor } from '@heart/telemetry/testing'
import { produce, testLayout } from './fixtures/produce.js'

const unruly = new URL('./fixtures/unruly-consumer.js', import.meta.url)
const counting = new URL('./fixtures/counting-consumer.js', import.meta.url)
const layout = testLayout

t.test('the meter reports the share of one core over its sliding window', async (t) => {
  const cpu = new Map<number, number>([
    [1, 0],
    [2, 0],
  ])
  const meter = new ThreadCpuMeter({ windowMs: 3000, cpuMs: (tid) => cpu.get(tid) ?? null })
  const threads = [
    { name: 'main', tid: 1 },
    { name: 'motion', tid: 2 },
  ]
  meter.sample(threads, 0)
  t.equal(meter.percent('motion'), null, 'one reading is no figure yet')
  // motion: half a core for 3 s, then a whole core; main: a tenth of a core throughout.
  for (let s = 1; s <= 6; s++) {
    cpu.set(1, s * 100)
    cpu.set(2, s <= 3 ? s * 500 : 1500 + (s - 3) * 1000)
    meter.sample(threads, s * 1000)
    if (s === 3) t.equal(meter.percent('motion'), 50, 'half a core over the first window')
  }
  t.equal(meter.percent('motion'), 100, 'the window slid: only the last 3 s count')
  t.equal(meter.percent('main'), 10)
  t.strictSame([...meter.percents()], [
    ['main', 10],
    ['motion', 100],
  ])

  // A restart is a new thread: its window starts afresh instead of mixing two threads' clocks.
  cpu.set(3, 40)
  meter.sample([threads[0]!, { name: 'motion', tid: 3 }], 7000)
  t.equal(meter.percent('motion'), null, 'a new thread id starts again')
  // A thread no longer named (its worker stopped) is forgotten.
  meter.sample([threads[0]!], 8000)
  t.notOk(meter.percents().has('motion'))
  // A thread whose stat cannot be read keeps no reading, so it shows no made-up figure.
  meter.sample([{ name: 'gone', tid: 99 }], 9000)
  meter.sample([{ name: 'gone', tid: 99 }], 10000)
  t.equal(meter.percent('gone'), null)
})

t.test('the metrics upkeep exports each thread as a share of one core, and tells once of an undeclared thread', async (t) => {
  const registry = MetricsRegistry.create(kernelMetrics({ consumers: [], threads: [MAIN_THREAD, 'motion'] }))
  const unknown: string[] = []
  let figures = new Map([
    ['main', 12.5],
    ['motion', 80],
    ['stranger', 5],
  ])
  const upkeep = new MetricsUpkeep(registry, { consumers: () => ({}), threadCpu: () => figures }, (what) => unknown.push(what))
  upkeep.update()
  t.equal(registry.gauge(KernelMetric.threadCpu, { thread: 'main' }).value(), 0.125)
  t.equal(registry.gauge(KernelMetric.threadCpu, { thread: 'motion' }).value(), 0.8)
  figures = new Map([...figures, ['motion', 20]])
  upkeep.update()
  t.equal(registry.gauge(KernelMetric.threadCpu, { thread: 'motion' }).value(), 0.2)
  t.strictSame(unknown, ['heart.thread.cpu|thread=stranger'], 'an undeclared thread is reported once, not every look')
  t.notOk(kernelMetrics({ consumers: [] }).some((d) => d.name === KernelMetric.threadCpu), 'not declared without threads')
})

t.test('a thread can name itself; the name is cut to what Linux keeps', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const before = readFileSync('/proc/thread-self/comm', 'utf8').trim()
  t.teardown(() => nameCurrentThread(before))
  t.equal(nameCurrentThread('a_rather_long_consumer_name'), 'a_rather_long_c')
  t.equal(readFileSync('/proc/thread-self/comm', 'utf8').trim(), 'a_rather_long_c')
})

t.test('/health: a busy consumer worker shows more CPU than an idle one, each under its own thread name', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const kernel = new Kernel({ supervisor: { restartInitialMs: 50, stallMs: 30_000 } })
  t.teardown(() => kernel.stop())
  const ring = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 4, defaultDepth: 4, maxDepth: 32 })
  kernel.startConsumer({ name: 'idle_reader', entry: counting, ring: 'camera' })
  // Spins 8 ms on every frame of a 100 fps ring: most of a core, whatever else runs on the box.
  kernel.startConsumer({ name: 'busy_spinner', entry: unruly, ring: 'camera', app: { mode: 'timer', spinMs: 8 }, consumer: { depth: 32 } })
  kernel.start()
  t.teardown(produce(ring))
  const cpu = (name: string): number | null => kernel.report().workers[name]?.cpu_percent ?? null
  const state = () => ({ workers: kernel.report().workers, main_thread: kernel.report().main_thread })
  // Generous: no figure is timed, only the order (a starved box slows both alike).
  await waitFor(() => (cpu('busy_spinner') ?? 0) > 2 * (cpu('idle_reader') ?? 100) + 5, 'the busy consumer shows more CPU than the idle one', state, 30_000)
  const report = kernel.report()
  t.ok(report.workers.busy_spinner!.cpu_percent! > report.workers.idle_reader!.cpu_percent!, `busy ${report.workers.busy_spinner!.cpu_percent} % > idle ${report.workers.idle_reader!.cpu_percent} %`)
  t.type(report.main_thread?.cpu_percent, 'number', 'the main thread has its figure too')
  const names = readdirSync('/proc/self/task').map((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim())
  for (const name of ['idle_reader', 'busy_spinner']) t.ok(names.includes(name), `a thread named ${name} (${names.join(', ')})`)
})
