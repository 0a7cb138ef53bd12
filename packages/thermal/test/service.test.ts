import { Kernel } from '@heart/kernel'
import { MetricsRegistry } from '@heart/telemetry'
import t from 'tap'
import { THERMAL_LOSS_REASONS } from '../src/health.js'
import { resolveThermalConfig, defaultRefreshHz, subpageBusMs } from '../src/config.js'
import { ThermalAux } from '../src/ring.js'
import { startThermal } from '../src/service.js'
import type { ThermalFrameEvent } from '../src/types.js'
import { ThermalMetric, thermalMetrics } from '../src/metrics.js'

t.test('config: defaults and clear refusals', async (t) => {
  const c = resolveThermalConfig()
  t.equal(c.bus, null, 'emulator by default')
  t.equal(c.hz, 10)
  t.equal(c.refreshHz, 16)
  t.equal(c.address, 0x33)
  t.equal(defaultRefreshHz(16), 32)
  t.same(resolveThermalConfig({ bus: 1, address: 0x33, hz: 10 }).bus, 1)
  t.throws(() => resolveThermalConfig({ hz: 0 }), { code: 'BAD_ARGUMENT', message: /thermal.hz/ })
  t.throws(() => resolveThermalConfig({ bus: -1 }), { message: /thermal.bus/ })
  t.throws(() => resolveThermalConfig({ address: 0x80 }), { message: /7-bit/ })
  t.throws(() => resolveThermalConfig({ refreshHz: 10 }), { message: /thermal\.refreshHz: got 10, allowed: 0\.5 \| 1 \| 2/ })
  t.throws(() => resolveThermalConfig({ hz: 10, refreshHz: 8 }), { message: /below thermal.hz/ })
  t.throws(() => resolveThermalConfig({ busHz: 5 }), { message: /busHz/ })
  t.throws(() => resolveThermalConfig({ emissivity: 1.5 }), { message: /emissivity/ })
  t.throws(() => resolveThermalConfig({ adress: 0x33 } as never), { message: /thermal\.adress: unknown setting \(did you mean "address"\?\)/ })
  t.throws(() => resolveThermalConfig({ drift: { windowSeconds: 30 } } as never), { message: /thermal\.drift\.windowSeconds: unknown setting/ })
  t.throws(() => resolveThermalConfig({ emulator: 5 } as never), { message: /thermal\.emulator: got 5, expected an object/ })
  t.throws(() => resolveThermalConfig({ cooldown: { everyS: 60 } } as never), { message: /cooldown.forS/ })
  t.same(resolveThermalConfig({ cooldown: { everyS: 60, forS: 5 }, drift: { windowS: 30 } }).cooldown, { everyS: 60, forS: 5 })
  // Every problem at once, in heart's wording (the schema is the one heart's config uses).
  t.throws(() => resolveThermalConfig({ hz: 0, emissivity: 2, adress: 1 } as never), { message: /^(?=.*thermal\.adress: unknown setting)(?=.*thermal\.hz: )(?=.*thermal\.emissivity: )/s })
  t.ok(subpageBusMs(400_000) > 37 && subpageBusMs(400_000) < 39, 'one subpage costs ~38 ms of a 400 kHz bus')
})

t.test('the worker publishes 10 Hz frames into the ring, as events and in health', async (t) => {
  const kernel = new Kernel()
  t.teardown(() => kernel.stop())
  const events: ThermalFrameEvent[] = []
  kernel.on<ThermalFrameEvent>('thermal.frame', (e) => {
    events.push(e.payload)
  })
  kernel.start()
  const catalogue = thermalMetrics()
  const registry = MetricsRegistry.create(catalogue)
  const service = startThermal(
    kernel,
    // A few NACKs so the loss counters have something to count.
    { busHz: 1_000_000, emulator: { ta: 31, faultRates: { nack: 0.02 }, seed: 3 } },
    { metrics: { buffer: registry.buffer, catalogue } },
  )
  const consumer = service.ring.consumer('test', { depth: 4 })
  const deadline = Date.now() + 15_000
  let frames = 0
  let lastTa = NaN
  let lastCentre = NaN
  while (Date.now() < deadline && frames < 25) {
    const lease = await consumer.acquireAsync(200)
    if (!lease) continue
    frames++
    lastTa = lease.aux[ThermalAux.TA]!
    t.equal(lease.pixFmt, 'grayf32')
    const temps = new Float32Array(lease.bytes.buffer, lease.bytes.byteOffset, 768)
    lastCentre = Math.max(...temps)
    t.ok(lease.aux[ThermalAux.MIN]! <= lease.aux[ThermalAux.MAX]!, 'min <= max')
    consumer.release(lease)
    if (frames >= 25) break
  }
  consumer.leave()
  t.ok(frames >= 25, `${frames} frames through the ring`)
  t.ok(Math.abs(lastTa - 31) < 0.1, `Ta ${lastTa}`)
  t.ok(lastCentre > 33, `the warm blob shows (${lastCentre.toFixed(1)} °C)`)
  const health = service.health()!
  t.ok(health, 'health written')
  t.equal(health.source, 'emulator')
  // Not a speed test (the bench is): on a busy machine the rate may dip, but it runs and is bounded.
  t.ok(health.frames_per_s > 2 && health.frames_per_s < 12, `frames_per_s ${health.frames_per_s}`)
  t.equal(health.refresh_hz, 16)
  t.equal(health.bus_hz, 1_000_000)
  // Real time: the emulator's bus time is slept, so the measured speed is at most the clock.
  t.ok(health.bus_hz_effective! > 0 && health.bus_hz_effective! <= 1_050_000, `effective bus ${health.bus_hz_effective} Hz`)
  t.ok(registry.counter(ThermalMetric.thermalFrames).value() > 20, 'subpages counted in the shared metrics')
  const lost = THERMAL_LOSS_REASONS.reduce((n, reason) => n + registry.counter(ThermalMetric.thermalLost, { reason }).value(), 0)
  // The worker writes health before it adds to the counters, so a later health read is never behind them.
  const later = service.health()!
  t.ok(lost <= later.lost_total, `loss counters (${lost}) match health (${later.lost_total})`)
  t.ok(later.errors_total > 0, 'the injected NACKs were seen')
  const report = kernel.report()
  t.ok(report.thermal && report.thermal.frames_per_s > 0, 'kernel health carries the thermal section')
  t.ok(events.length > 0, `${events.length} thermal.frame events`)
  const e = events[events.length - 1]!
  t.ok(typeof e.tsNs === 'string' && BigInt(e.tsNs) > 0n, 'tsNs as a string bigint')
  t.ok(e.min <= e.mean && e.mean <= e.max && Math.abs(e.ta - 31) < 0.1)
})
