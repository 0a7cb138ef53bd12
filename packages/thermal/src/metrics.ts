// The metrics the thermal worker records (thermal-worker.ts): frames read from
// the sensor and frames lost, by reason. Declared here, next to the code that
// records them; the CLI joins every package's declarations into the run's catalogue.
import type { Catalogue } from '@heart/telemetry'
import { THERMAL_LOSS_REASONS } from '@heart/contracts'

/** Metric names, so call sites cannot misspell them. */
export const ThermalMetric = Object.freeze({
  thermalFrames: 'heart.thermal.frames',
  thermalLost: 'heart.thermal.lost',
})

export function thermalMetrics(): Catalogue {
  return [
    { name: ThermalMetric.thermalFrames, kind: 'counter', unit: '{frame}', description: 'Thermal frames read from the MLX90640.' },
    // Every reason the poller counts (poller.ts lossReason), so no loss goes unexported.
    { name: ThermalMetric.thermalLost, kind: 'counter', unit: '{frame}', description: 'Thermal frames lost, by reason.', attributes: { reason: THERMAL_LOSS_REASONS } },
  ]
}
