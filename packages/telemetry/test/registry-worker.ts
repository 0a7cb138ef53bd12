// Worker for registry.test.ts: attaches to the main thread's registry and
// hammers a counter, a histogram and a gauge.
import { workerData, parentPort } from 'node:worker_threads'
import { MetricsRegistry } from '../src/registry.js'
import { SampleMetric } from './fixtures/sample-catalogue.js'
import type { Catalogue } from '../src/types.js'

export interface RecorderConfig {
  buffer: SharedArrayBuffer
  catalogue: Catalogue
  start: SharedArrayBuffer
  id: number
  iterations: number
  workers: number
}

export interface RecorderResult {
  sumTicks: number
  max: number
  min: number
  reason: string
  lastGauge: number
  overlapped: boolean
}

const config = workerData as RecorderConfig
const registry = MetricsRegistry.attach(config.buffer, config.catalogue)
const published = registry.counter(SampleMetric.framesPublished)
const errors = registry.counter(SampleMetric.decodeErrors)
const decode = registry.histogram(SampleMetric.decodeDuration)
// Loss reasons heart really reports (the catalogue declares only those).
const reasons = ['slow', 'reclaimed', 'stale', 'no_slot']
const reason = reasons[config.id % reasons.length]!
const drops = registry.counter(SampleMetric.framesDropped, { consumer: 'motion', reason })
const occupancy = registry.gauge(SampleMetric.ringOccupancy)

const gate = new Int32Array(config.start)
Atomics.add(gate, 1, 1)
Atomics.wait(gate, 0, 0, 10_000)

let sumTicks = 0
let max = 0
let min = Infinity
let lastGauge = 0
let overlapped = false
for (let k = 0; k < config.iterations; k++) {
  published.add()
  errors.add(k === 1000 ? 2 ** 31 : 1) // one big add: 1 + (2^31 - 1)
  // Values in whole µs, distinct per worker, so the exact sum is known.
  const value = ((k * 7919 + config.id * 104729) % 50_000 + 1) / 1000
  decode.record(value)
  sumTicks += Math.round(value * 1000)
  if (value > max) max = value
  if (value < min) min = value
  if (k % 4 === 0) drops.add()
  if (config.id === 0) {
    lastGauge = k + k / 1024
    occupancy.set(lastGauge)
  }
  // Halfway through, another worker must have made progress too.
  if (k === config.iterations >> 1) overlapped = published.value() > k + 1
}
parentPort!.postMessage({ sumTicks, max, min, reason, lastGauge, overlapped } satisfies RecorderResult)
