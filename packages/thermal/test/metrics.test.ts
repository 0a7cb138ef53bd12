import t from 'tap'
import { MetricsRegistry } from '@heart/telemetry'
import { THERMAL_LOSS_REASONS } from '../src/health.js'
import { ThermalMetric, thermalMetrics } from '../src/metrics.js'

t.test('thermal declares its frames and a loss series for every reason the poller counts', async (t) => {
  const r = MetricsRegistry.create(thermalMetrics())
  for (const name of Object.values(ThermalMetric)) t.ok(r.declaration(name), name)
  t.ok(THERMAL_LOSS_REASONS.includes('overwritten'), 'the poller counts overwritten subpages (poller.ts lossReason)')
  for (const reason of THERMAL_LOSS_REASONS) r.counter(ThermalMetric.thermalLost, { reason }).add()
  const lossSeries = [...r.instances()].filter((i) => i.declaration.name === ThermalMetric.thermalLost)
  t.strictSame(lossSeries.map((i) => i.attributes['reason']), [...THERMAL_LOSS_REASONS], 'one series a reason, none that nothing counts')
  t.throws(() => r.counter(ThermalMetric.thermalLost, { reason: 'corrupt' }), /corrupt/)
})
