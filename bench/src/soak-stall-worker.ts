// A bench consumer that can be made slow on purpose. The soak's "stalled
// consumer" fault sets a shared flag and this worker stops taking frames
// until it is cleared; the backpressure bench gives it a fixed cost per frame
// instead. Either way the ring must drop frames for this consumer alone.
import { serveConsumer } from '@heart/kernel'
import { STALL_FLAG_INDEX } from './soak-layout.js'

export interface StallConsumerOptions {
  /** Key of the shared Int32Array flag in ctx.shared (non-zero: stalled). */
  flagKey?: string
  /** Fixed work per frame, ms (the backpressure bench's slow consumer). */
  sleepMsPerFrame?: number
}

serveConsumer<StallConsumerOptions | undefined>((ctx) => {
  const buffer = ctx.config.app?.flagKey ? ctx.shared[ctx.config.app.flagKey] : undefined
  const flag = buffer ? new Int32Array(buffer) : null
  const sleepMs = ctx.config.app?.sleepMsPerFrame ?? 0
  // Atomics.wait blocks this thread only: exactly what a consumer stuck in a slow call looks like to the ring.
  const parked = new Int32Array(new SharedArrayBuffer(4))
  let touched = 0
  return {
    onFrame(frame) {
      // Light real work: one byte per row of the first plane, so the lease is really used.
      const plane = frame.planes[0]!
      for (let row = 0; row < plane.height; row += 8) touched = (touched + frame.bytes[plane.offset + row * plane.stride]!) | 0
      if (sleepMs > 0) Atomics.wait(parked, 0, 0, sleepMs)
      // While the flag is up, hold this frame: the ring queues up to depth, then drops the oldest for us only.
      while (flag && Atomics.load(flag, STALL_FLAG_INDEX) !== 0 && !ctx.signal.aborted) Atomics.wait(flag, STALL_FLAG_INDEX, 1, 100)
    },
    onStop() {
      ctx.emit('stall.report', { consumer: ctx.name, touched })
    },
  }
})
