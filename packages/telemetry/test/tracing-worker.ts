// Worker for tracing.test.ts: plays the capture worker (role "producer") or a
// consumer, sharing trace context only through the TraceTable buffer.
import { workerData, parentPort } from 'node:worker_threads'
import { startTracing, FrameTracer } from '../src/tracing.js'
import { TraceTable } from '../src/trace-table.js'

export interface TracingWorkerConfig {
  role: 'producer' | 'consumer'
  name: string
  url: string
  table: SharedArrayBuffer
  /** word 0: frames published so far */
  progress: SharedArrayBuffer
  frames: number
  sampleEvery: number
}

const config = workerData as TracingWorkerConfig
const tracing = startTracing({ threadName: config.name, url: `${config.url}/v1/traces`, scheduledDelayMillis: 50 })
const frames = new FrameTracer({ tracer: tracing.tracer, table: TraceTable.attach(config.table), sampleEvery: config.sampleEvery, attributes: { 'heart.camera': 'test' } })
const progress = new Int32Array(config.progress)
let spans = 0

if (config.role === 'producer') {
  for (let seq = 0; seq < config.frames; seq++) {
    const receive = process.hrtime.bigint()
    const decodeStart = receive + 1_000_000n
    const decodeEnd = decodeStart + 4_000_000n
    const publish = decodeEnd + 500_000n
    if (frames.framePublished(BigInt(seq), receive, decodeStart, decodeEnd, publish)) spans++
    Atomics.store(progress, 0, seq + 1)
    Atomics.notify(progress, 0)
  }
} else {
  for (let seq = 0; seq < config.frames; seq++) {
    while (Atomics.load(progress, 0) <= seq) Atomics.wait(progress, 0, seq, 100)
    const span = frames.startConsume(config.name, BigInt(seq), process.hrtime.bigint())
    if (span) {
      span.end()
      spans++
    }
  }
}
await tracing.shutdown()
parentPort!.postMessage({ spans })
