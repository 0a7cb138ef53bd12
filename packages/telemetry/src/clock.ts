// heart stamps frames with CLOCK_MONOTONIC nanoseconds (process.hrtime.bigint()
// in JS, clock_gettime in native code); OpenTelemetry wants wall-clock times.
// The offset is measured once per thread: both clocks tick at the same rate,
// and every thread's offset agrees to within microseconds.

import type { HrTime } from '@opentelemetry/api'

let offsetNs: bigint | undefined

function wallMinusMonotonicNs(): bigint {
  if (offsetNs === undefined) {
    const wallUs = Math.round((performance.timeOrigin + performance.now()) * 1000)
    offsetNs = BigInt(wallUs) * 1000n - process.hrtime.bigint()
  }
  return offsetNs
}

/** A CLOCK_MONOTONIC timestamp (ns) as an OpenTelemetry wall-clock HrTime. */
export function monotonicToHrTime(monotonicNs: bigint): HrTime {
  const wall = monotonicNs + wallMinusMonotonicNs()
  return [Number(wall / 1_000_000_000n), Number(wall % 1_000_000_000n)]
}
