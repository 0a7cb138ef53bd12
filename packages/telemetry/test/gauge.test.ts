import t from 'tap'
import { Gauge } from '../src/gauge.js'

t.test('set and read float64 values exactly', async (t) => {
  const g = new Gauge(new SharedArrayBuffer(32), 16)
  t.equal(g.value(), 0)
  for (const v of [1.5, -3.25, 1e300, Number.MIN_VALUE, 0.1 + 0.2]) {
    g.set(v)
    t.equal(g.value(), v)
  }
})

t.test('a reader that only sees an in-progress write gives up with the raw value', async (t) => {
  const buffer = new SharedArrayBuffer(16)
  const g = new Gauge(buffer, 0)
  g.set(7)
  Atomics.add(new Int32Array(buffer), 0, 1) // writer "stuck" mid-write
  t.equal(g.value(), 7)
})

// x86-64 stores a float64 in one instruction, so this guards the seqlock where
// it matters: 32-bit ARM (Raspberry Pi OS armhf) splits the store in two.
t.test('reads racing a writer in another thread never see a torn value', async (t) => {
  const { Worker } = await import('node:worker_threads')
  const values: [number, number] = [1.0000000000000002, -3.5e300]
  const buffer = new SharedArrayBuffer(16)
  const flags = new SharedArrayBuffer(8)
  const flag = new Int32Array(flags)
  const worker = new Worker(new URL('./gauge-worker.js', import.meta.url), { workerData: { buffer, flags, writes: 2_000_000, values } })
  const exited = new Promise((resolve) => worker.once('exit', resolve))
  while (Atomics.load(flag, 0) === 0) await new Promise((r) => setTimeout(r, 1))
  const g = new Gauge(buffer, 0)
  let reads = 0
  let torn = 0
  const seen = new Set<number>()
  while (Atomics.load(flag, 1) === 0) {
    const v = g.value()
    reads++
    if (v !== values[0] && v !== values[1] && v !== 0) torn++
    seen.add(v)
  }
  await exited
  t.equal(torn, 0, `${reads} reads, none torn`)
  t.ok(seen.has(values[0]) && seen.has(values[1]), 'the reader saw both values while the writer ran')
})
