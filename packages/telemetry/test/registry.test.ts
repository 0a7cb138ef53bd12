import t from 'tap'
import { Worker } from 'node:worker_threads'
import { MetricsRegistry } from '../src/registry.js'
import { sampleCatalogue, SampleMetric } from './fixtures/sample-catalogue.js'
import type { Catalogue } from '../src/types.js'
import type { RecorderConfig, RecorderResult } from './registry-worker.js'

const small: Catalogue = [
  { name: 'test.events', kind: 'counter', unit: '1', description: 'events' },
  { name: 'test.drops', kind: 'counter', unit: '1', description: 'drops', attributes: { who: ['a', 'b'], why: ['x', 'y', 'z'] } },
  { name: 'test.level', kind: 'gauge', unit: '1', description: 'level' },
  { name: 'test.latency', kind: 'histogram', unit: 'ms', description: 'latency', attributes: { stage: ['one', 'two'] } },
]

t.test('handles resolve to distinct memory per attribute combination', async (t) => {
  const r = MetricsRegistry.create(small)
  r.counter('test.drops', { who: 'a', why: 'y' }).add(3)
  r.counter('test.drops', { why: 'z', who: 'b' }).add(5)
  t.equal(r.counter('test.drops', { who: 'a', why: 'y' }).value(), 3)
  t.equal(r.counter('test.drops', { who: 'b', why: 'z' }).value(), 5)
  t.equal(r.counter('test.drops', { who: 'a', why: 'z' }).value(), 0)
  t.equal(r.counter('test.events'), r.counter('test.events'), 'handles are cached')
  r.histogram('test.latency', { stage: 'two' }).record(4)
  t.equal(r.histogram('test.latency', { stage: 'one' }).snapshot().count, 0)
  t.equal(r.histogram('test.latency', { stage: 'two' }).snapshot().count, 1)
  r.gauge('test.level').set(0.75)
  t.equal(r.gauge('test.level').value(), 0.75)

  const seen = [...r.instances()].map((i) => `${i.declaration.name}${JSON.stringify(i.attributes)}`)
  t.equal(seen.length, 1 + 6 + 1 + 2)
  t.ok(seen.includes('test.drops{"who":"b","why":"z"}'))
  const dropTotals = [...r.instances()].filter((i) => i.kind === 'counter' && i.declaration.name === 'test.drops')
  t.same(
    dropTotals.map((i) => (i.handle as { value(): number }).value()),
    [0, 3, 0, 0, 0, 5],
    'instances() enumerates in mixed-radix order over sorted keys',
  )
  t.equal(r.declaration('test.level')?.kind, 'gauge')
})

t.test('lookups with wrong names, kinds or attributes say what to do', async (t) => {
  const r = MetricsRegistry.create(small)
  t.throws(() => r.counter('test.nope'), { code: 'METRIC_UNKNOWN', message: /declared metrics are: test.events/ })
  t.throws(() => r.gauge('test.events'), { code: 'METRIC_KIND', message: /registry.counter/ })
  t.throws(() => r.counter('test.drops', { who: 'a' }), /attribute "why" is required/)
  t.throws(() => r.counter('test.drops', { who: 'a', why: 'q' }), /why="q" is not declared; allowed: x, y, z/)
  t.throws(() => r.counter('test.drops', { who: 'a', why: 'x', extra: '1' }), /unknown attribute "extra"/)
  t.throws(() => r.counter('test.events', { who: 'a' }), /takes no attributes/)
})

t.test('attach checks magic, version, catalogue and size', async (t) => {
  const r = MetricsRegistry.create(small)
  const again = MetricsRegistry.attach(r.buffer, small)
  r.counter('test.events').add(2)
  t.equal(again.counter('test.events').value(), 2)
  t.equal(again.catalogueHash, r.catalogueHash)

  const reordered: Catalogue = [small[0]!, { ...small[1]!, attributes: { who: ['b', 'a'], why: ['x', 'y', 'z'] } }, small[2]!, small[3]!]
  t.throws(() => MetricsRegistry.attach(r.buffer, reordered), { code: 'METRICS_CATALOGUE', message: /same catalogue/ })
  t.throws(() => MetricsRegistry.attach(new SharedArrayBuffer(r.buffer.byteLength), small), /wrong magic/)
  t.throws(() => MetricsRegistry.attach(new SharedArrayBuffer(8), small), /smaller than the 64-byte header/)
  t.throws(() => MetricsRegistry.attach(new ArrayBuffer(64) as unknown as SharedArrayBuffer, small), /expected a SharedArrayBuffer/)
  const forged = new SharedArrayBuffer(r.buffer.byteLength)
  new Uint8Array(forged).set(new Uint8Array(r.buffer))
  new Int32Array(forged)[1] = 99
  t.throws(() => MetricsRegistry.attach(forged, small), /layout version 99/)
  const bigger = new SharedArrayBuffer(r.buffer.byteLength + 8)
  new Uint8Array(bigger).set(new Uint8Array(r.buffer))
  t.throws(() => MetricsRegistry.attach(bigger, small), /does not match the catalogue's layout/)
})

t.test('catalogue validation', async (t) => {
  t.throws(() => MetricsRegistry.create([]), /non-empty array/)
  t.throws(() => MetricsRegistry.create([{ name: 'Bad Name', kind: 'counter', unit: '1', description: '' }]), /lower-case dotted/)
  t.throws(() => MetricsRegistry.create([{ name: 'a.b', kind: 'meter' as 'counter', unit: '1', description: '' }]), /kind must be one of/)
  t.throws(() => MetricsRegistry.create([small[0]!, small[0]!]), /declared twice/)
  t.throws(() => MetricsRegistry.create([{ ...small[0]!, attributes: { Who: ['a'] } }]), /lower_snake_case/)
  t.throws(() => MetricsRegistry.create([{ ...small[0]!, attributes: { who: [] } }]), /non-empty list/)
  t.throws(() => MetricsRegistry.create([{ ...small[0]!, attributes: { who: ['a', 'a'] } }]), /lists "a" twice/)
  t.throws(() => MetricsRegistry.create([{ ...small[0]!, attributes: { who: [''] } }]), /non-empty strings/)
  t.throws(() => MetricsRegistry.create([{ ...small[0]!, histogram: {} }]), /histogram options given for a counter/)
  t.throws(() => MetricsRegistry.create([{ ...small[0]!, unit: 3 as unknown as string }]), /unit must be a string/)
  t.throws(() => MetricsRegistry.create([null as unknown as Catalogue[0]]), /must be an object/)
})

function runWorker(config: RecorderConfig): Promise<RecorderResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./registry-worker.js', import.meta.url), { workerData: config })
    let result: RecorderResult | undefined
    w.once('message', (m: RecorderResult) => (result = m))
    w.once('error', reject)
    w.once('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`worker exited with ${code} without a result`))))
  })
}

t.test('workers recording concurrently produce exact totals in the main thread', async (t) => {
  const catalogue = sampleCatalogue()
  const r = MetricsRegistry.create(catalogue)
  const workers = 3
  const iterations = 200_000
  // A start gate (word 0) and an arrival count (word 1), so all workers are
  // running before any records: they overlap instead of running in turn.
  const start = new SharedArrayBuffer(8)
  const runs = Array.from({ length: workers }, (_, id) =>
    runWorker({ buffer: r.buffer, catalogue, start, id, iterations, workers }),
  )
  const gate = new Int32Array(start)
  while (Atomics.load(gate, 1) < workers) await new Promise((resolve) => setTimeout(resolve, 5))
  Atomics.store(new Int32Array(start), 0, 1)
  Atomics.notify(new Int32Array(start), 0)
  const results = await Promise.all(runs)

  t.equal(r.counter(SampleMetric.framesPublished).value(), workers * iterations, 'published counter')
  // Every worker adds 2^31 - 1 once: the low word wraps, so the carry path runs concurrently.
  t.equal(r.counter(SampleMetric.decodeErrors).value(), workers * (iterations + 2 ** 31 - 1), 'counter with carries')
  const decode = r.histogram(SampleMetric.decodeDuration).snapshot()
  t.equal(decode.count, workers * iterations, 'histogram count')
  const expectedSumTicks = results.reduce((a, x) => a + x.sumTicks, 0)
  t.equal(decode.sumTicks, expectedSumTicks, 'histogram sum (in 1 µs ticks) is exact')
  t.equal(decode.max, Math.max(...results.map((x) => x.max)), 'max is the largest any worker saw')
  t.equal(decode.min, Math.min(...results.map((x) => x.min)), 'min is the smallest any worker saw')
  // Each worker wrote its own drop reason.
  for (let id = 0; id < workers; id++) {
    t.equal(r.counter(SampleMetric.framesDropped, { consumer: 'motion', reason: results[id]!.reason }).value(), iterations / 4)
  }
  // Gauge written by worker 0 only; never torn (worker 0 only writes k + k/1024 values).
  const g = r.gauge(SampleMetric.ringOccupancy).value()
  t.equal(g, results[0]!.lastGauge)
  t.ok(results.some((x) => x.overlapped), 'workers were recording at the same time')
})
