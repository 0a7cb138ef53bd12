// CaptureService with a recording fake supervisor: what it starts, how the
// ring is sized, the AI-lock routes, and stopping.
import t from 'tap'
import { frameLayout } from '@heart/ring'
import { CaptureService, type CaptureSupervisor } from '../src/capture-service.js'
import { captureMetrics } from '../src/metrics.js'

function fakeSupervisor(): CaptureSupervisor & { started: Parameters<CaptureSupervisor['start']>[0][]; stops: string[] } {
  const started: Parameters<CaptureSupervisor['start']>[0][] = []
  const stops: string[] = []
  return { started, stops, start: (spec) => started.push(spec), stop: async (name) => { stops.push(name) } }
}

t.test('start validates, sizes the ring from the expectation and hands the worker its buffers', async (t) => {
  const sup = fakeSupervisor()
  const svc = CaptureService.start(sup, { source: 'rtsp://u:p@cam/s1', expect: { maxSize: '1280x720' }, pixFmt: 'nv12' }, { name: 'cam0', ring: { maxConsumers: 3 }, restart: { initialMs: 10 } })
  t.equal(svc.ring.slotBytes >= frameLayout(1280, 720, 'nv12').byteLength, true)
  t.equal(svc.ring.maxConsumers, 3)
  t.equal(sup.started.length, 1)
  const spec = sup.started[0]!
  t.equal(spec.name, 'cam0')
  t.match(spec.entry.href, /capture-worker\.js$/)
  t.equal(spec.shared.ring, svc.ring.buffer)
  t.equal(spec.shared.health, svc.healthBuffer)
  t.match(spec.config, { ringKey: 'ring', healthKey: 'health', capture: { source: 'rtsp://u:p@cam/s1', pixFmt: 'nv12' } })
  t.same(spec.restart, { initialMs: 10 })
  t.equal(svc.spec.redacted, 'rtsp://***@cam/s1')
  t.match(svc.health(), { state: 'idle', frames_total: 0, ai_locked: false })
  await svc.stop()
  await svc.stop()
  t.same(sup.stops, ['cam0'], 'stop is idempotent')
  t.equal(svc.health().state, 'stopped')
})

t.test('a plain URL works, metrics are passed on, bad input throws before anything starts', async (t) => {
  const sup = fakeSupervisor()
  const metrics = new SharedArrayBuffer(8)
  const catalogue = captureMetrics()
  const svc = CaptureService.start(sup, 'testsrc://?size=640x360', { metrics: { buffer: metrics, catalogue } })
  t.equal(svc.name, 'capture')
  t.equal(sup.started[0]!.shared.metrics, metrics)
  t.same(sup.started[0]!.config.metrics, { key: 'metrics', catalogue })
  t.throws(() => CaptureService.start(sup, 'rstp://cam'), { code: 'INVALID_SOURCE' })
  t.throws(() => CaptureService.start(sup, { source: 'rtsp://cam', stallTimeoutMs: -1 }), { code: 'INVALID_CONFIG' })
  t.equal(sup.started.length, 1)
})

t.test('AI-lock routes', async (t) => {
  const svc = CaptureService.start(fakeSupervisor(), 'rtsp://cam/s1')
  const routes = svc.routes()
  t.same(routes.map((r) => `${r.method} ${r.path}`), ['POST /camera/down', 'POST /camera/up'])
  const call = (i: number): { status: number; body: string } => {
    const out = { status: 0, body: '' }
    const res = { writeHead: (s: number) => { out.status = s; return res }, end: (b: string) => { out.body = b } }
    void routes[i]!.handle({} as never, res as never)
    return out
  }
  t.same(call(0), { status: 200, body: '{"ai_locked":true}' })
  t.equal(svc.aiLocked, true)
  t.equal(svc.health().ai_locked, true)
  t.same(call(1), { status: 200, body: '{"ai_locked":false}' })
  svc.setAiLock(true)
  t.equal(svc.aiLocked, true)
})
