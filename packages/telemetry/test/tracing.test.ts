import t from 'tap'
import { Worker } from 'node:worker_threads'
import { Writable } from 'node:stream'
import { trace, context } from '@opentelemetry/api'
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace'
import { TraceTable } from '../src/trace-table.js'
import { FrameTracer, startTracing } from '../src/tracing.js'
import { createLogger, traceFields } from '../src/logging.js'
import { startOtlpReceiver, type ReceivedSpan } from '../src/testing/otlp-receiver.js'
import type { TracingWorkerConfig } from './tracing-worker.js'

function run(config: TracingWorkerConfig): Promise<{ spans: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./tracing-worker.js', import.meta.url), { workerData: config })
    let result: { spans: number } | undefined
    w.once('message', (m: { spans: number }) => (result = m))
    w.once('error', reject)
    w.once('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`worker ${config.name} exited with ${code}`))))
  })
}

t.test('trace table round trip, misses and attach checks', async (t) => {
  const table = TraceTable.create(4)
  const again = TraceTable.attach(table.buffer)
  t.equal(again.read(0), null, 'empty slots hold nothing (seq 0 included)')
  table.write(6, '0123456789abcdef0123456789abcdef', 'fedcba9876543210', 1)
  t.same(again.read(6), { traceId: '0123456789abcdef0123456789abcdef', spanId: 'fedcba9876543210', traceFlags: 1 })
  t.equal(again.has(2), false, 'same slot, other seq')
  t.equal(again.read(2), null)
  table.write(2 ** 40 + 2, 'ffffffffffffffffffffffffffffffff', '0000000000000001', 1)
  t.equal(again.read(6), null, 'slot reused by a later frame')
  t.equal(again.read(2 ** 40 + 2)?.traceId, 'ffffffffffffffffffffffffffffffff')
  t.throws(() => TraceTable.create(0), { code: 'TRACE_TABLE' })
  t.throws(() => TraceTable.attach(new SharedArrayBuffer(64)), /wrong magic/)
  t.throws(() => TraceTable.attach(new SharedArrayBuffer(4)), /at least 16 bytes/)
})

t.test('a sampled frame is one trace across the capture thread and two consumer threads, exported over OTLP/HTTP', async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  const table = TraceTable.create(8)
  const progress = new SharedArrayBuffer(4)
  const base = { url: receiver.url, table: table.buffer, progress, frames: 120, sampleEvery: 30 }
  const results = await Promise.all([
    run({ ...base, role: 'consumer', name: 'motion' }),
    run({ ...base, role: 'consumer', name: 'detection' }),
    run({ ...base, role: 'producer', name: 'capture' }),
  ])
  t.same(results.map((r) => r.spans), [4, 4, 4], 'frames 0, 30, 60, 90 sampled on every thread')

  const roots = receiver.spans.filter((s) => s.name === 'frame')
  t.equal(roots.length, 4)
  t.same(roots.map((r) => r.attributes['heart.frame.seq']).sort((a, b) => Number(a) - Number(b)), [0, 30, 60, 90])
  for (const root of roots) {
    const seq = root.attributes['heart.frame.seq']
    t.equal(root.parentSpanId, '', `frame ${seq} root has no parent`)
    t.equal(root.resource['heart.thread'], 'capture')
    t.equal(root.resource['service.name'], 'heart')
    t.equal(root.attributes['heart.camera'], 'test')
    const children = receiver.spans.filter((s) => s.parentSpanId === root.spanId)
    t.same(children.map((c) => c.name).sort(), ['consume detection', 'consume motion', 'decode', 'publish', 'receive'], `frame ${seq} children`)
    for (const c of children) t.equal(c.traceId, root.traceId, `${c.name} is in the frame's trace`)
    const byName = (n: string): ReceivedSpan => children.find((c) => c.name === n)!
    t.equal(byName('consume motion').resource['heart.thread'], 'motion', 'consumer span exported by the consumer thread')
    t.equal(byName('consume detection').attributes['heart.consumer'], 'detection')
    t.equal(byName('decode').endTimeUnixNano - byName('decode').startTimeUnixNano, 4_000_000n, 'decode span has the stamped duration')
    t.equal(byName('receive').startTimeUnixNano, root.startTimeUnixNano)
    t.equal(byName('publish').endTimeUnixNano, root.endTimeUnixNano)
    t.ok(byName('consume motion').startTimeUnixNano >= root.startTimeUnixNano, 'consumed after received')
  }
  const traceIds = new Set(roots.map((r) => r.traceId))
  t.equal(traceIds.size, 4, 'one trace per sampled frame')
  t.equal(receiver.spans.length, 4 * 6, 'no spans for unsampled frames')
})

t.test('sampling options and the in-process path', async (t) => {
  const exporter = new InMemorySpanExporter()
  const tracing = startTracing({ exporter, scheduledDelayMillis: 10 })
  t.teardown(() => tracing.shutdown())
  t.throws(() => new FrameTracer({ tracer: tracing.tracer, table: TraceTable.create(), sampleEvery: 0 }), { code: 'TRACING_OPTIONS' })
  const frames = new FrameTracer({ tracer: tracing.tracer, table: TraceTable.create(), sampleEvery: 1 })
  t.equal(frames.isSampled(7n), true)
  const now = process.hrtime.bigint()
  const ctx = frames.framePublished(7, now, now, now + 1000n, now + 2000n)
  t.ok(ctx && /^[0-9a-f]{32}$/.test(ctx.traceId))
  const span = frames.startConsume('motion', 7)
  t.ok(span)
  span!.end()
  t.equal(frames.startConsume('motion', 8), null)
  await tracing.forceFlush()
  t.equal(exporter.getFinishedSpans().length, 5)
  t.equal(new FrameTracer({ tracer: tracing.tracer, table: TraceTable.create() }).sampleEvery, 60, 'default is one frame a second at 60 FPS')
})

t.test('pino logs carry trace ids from the active span or from a frame context', async (t) => {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    },
  })
  const log = createLogger({ name: 'test', destination, base: { thread: 'capture' } })
  const tracing = startTracing({ exporter: new InMemorySpanExporter(), registerContextManager: true })
  t.teardown(async () => {
    await tracing.shutdown()
    context.disable()
  })
  log.info('no span')
  const span = tracing.tracer.startSpan('work')
  await context.with(trace.setSpan(context.active(), span), async () => {
    await new Promise((r) => setTimeout(r, 1))
    log.info({ seq: 3 }, 'inside span')
  })
  span.end()
  log.child(traceFields({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) })).warn('bound to a frame')
  await new Promise((r) => setImmediate(r))
  t.equal(lines.length, 3)
  t.equal(lines[0]!['trace_id'], undefined)
  t.equal(lines[0]!['thread'], 'capture')
  t.equal(lines[1]!['trace_id'], span.spanContext().traceId, 'active span survives an await')
  t.equal(lines[1]!['span_id'], span.spanContext().spanId)
  t.equal(lines[1]!['seq'], 3)
  t.equal(lines[2]!['trace_id'], 'a'.repeat(32))
  t.equal(lines[2]!['trace_flags'], '01')
  t.equal(lines[2]!['level'], 40)
})
