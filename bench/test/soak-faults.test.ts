import t from 'tap'
import { defaultFaultPlan, FAULT_KINDS, healthyAfter, type RecoveryView } from '../src/soak-faults.js'

t.test('faults are spread after warm-up, in order, each with room before the end', async (t) => {
  for (const duration of [90, 600]) {
    const plan = defaultFaultPlan(duration, 30)
    t.same(plan.map((p) => p.kind), [...FAULT_KINDS])
    let previousEnd = 30
    for (const p of plan) {
      t.ok(p.atS > previousEnd, `${p.kind} at ${p.atS} s starts after ${previousEnd} s`)
      previousEnd = p.atS + p.holdS
    }
    t.ok(previousEnd < duration - duration * 0.1, `the last fault ends at ${previousEnd} s, well before ${duration} s`)
  }
  t.same(defaultFaultPlan(600, 60, []), [])
})

const view = (over: Partial<RecoveryView> = {}): RecoveryView => ({
  fps: 60,
  nominalFps: 60,
  cameraState: 'streaming',
  consumers: { movement_detector: { delivered: 60, lost: 0 }, stall_probe: { delivered: 60, lost: 0 } },
  workerState: () => 'running',
  thermalHz: 10,
  thermalLost: 0,
  ...over,
})
const names = { crashConsumer: 'movement_detector', stallConsumer: 'stall_probe' }

t.test('recovery is judged on what each fault breaks', async (t) => {
  t.ok(healthyAfter('camera_restart', view(), names))
  t.notOk(healthyAfter('camera_restart', view({ fps: 40 }), names), 'camera not back to its rate')
  t.notOk(healthyAfter('camera_restart', view({ cameraState: 'reconnecting' }), names))
  t.notOk(healthyAfter('consumer_crash', view({ workerState: () => 'restarting' }), names))
  t.notOk(healthyAfter('consumer_crash', view({ consumers: { movement_detector: { delivered: 0, lost: 0 } } }), names))
  t.notOk(healthyAfter('stalled_consumer', view({ consumers: { stall_probe: { delivered: 10, lost: 50 } } }), names))
  t.ok(healthyAfter('stalled_consumer', view({ consumers: { stall_probe: { delivered: 59, lost: 1 } } }), names), 'one frame lost to a busy machine')
  t.notOk(healthyAfter('thermal_bus_errors', view({ thermalLost: 1 }), names))
  t.notOk(healthyAfter('thermal_bus_errors', view({ thermalHz: 9 }), names))
  t.ok(healthyAfter('thermal_bus_errors', view(), names))
})
