// Worker for gauge.test.ts: flips a gauge between two values whose 32-bit
// halves all differ, so a torn read would produce a third value.
import { workerData } from 'node:worker_threads'
import { Gauge } from '../src/gauge.js'

const { buffer, flags, writes, values } = workerData as { buffer: SharedArrayBuffer; flags: SharedArrayBuffer; writes: number; values: [number, number] }
const gauge = new Gauge(buffer, 0)
const flag = new Int32Array(flags)
Atomics.store(flag, 0, 1) // started
for (let i = 0; i < writes; i++) gauge.set(values[i & 1]!)
Atomics.store(flag, 1, 1) // done
