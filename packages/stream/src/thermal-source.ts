// The thermal heat map's temperatures. The `thermal.frame` event is kept small
// (seq, Ta, min, max); the 32x24 temperatures live in the thermal ring. This
// reads the newest frame from that ring on the main thread, on demand (once
// per thermal.frame event, so ~10 times a second): 768 floats copied, never
// blocking, lease released at once.

import type { FrameRing, RingConsumer } from '@heart/ring'
import type { ThermalPayload } from './types.js'

export interface ThermalRingSourceOptions {
  /** Consumer name on the thermal ring. Default `live_view`. */
  name?: string
  /**
   * Where Ta / min / max sit in the slot's aux words. Default: @heart/thermal's
   * ThermalAux layout (TA 0, MIN 1, MAX 2).
   */
  aux?: { ta: number; min: number; max: number }
}

export interface ThermalRingSource {
  /** The newest thermal frame published so far, or null before the first. */
  latest(): ThermalPayload | null
  close(): void
}

export function thermalRingSource(ring: FrameRing, opts: ThermalRingSourceOptions = {}): ThermalRingSource {
  const aux = opts.aux ?? { ta: 0, min: 1, max: 2 }
  // Depth 1: only the newest frame matters to a heat map.
  const consumer: RingConsumer = ring.consumer(opts.name ?? 'live_view', { depth: 1, maxLeases: 1 })
  let last: ThermalPayload | null = null
  return {
    latest() {
      for (;;) {
        const lease = consumer.tryAcquire()
        if (!lease) return last
        try {
          if (lease.pixFmt === 'grayf32') {
            const plane = lease.planes[0]!
            const view = new DataView(lease.bytes.buffer, lease.bytes.byteOffset, lease.bytes.byteLength)
            const temperatures = new Array<number>(plane.width * plane.height)
            for (let y = 0; y < plane.height; y++) {
              for (let x = 0; x < plane.width; x++) {
                temperatures[y * plane.width + x] = view.getFloat32(plane.offset + y * plane.stride + x * 4, true)
              }
            }
            last = {
              seq: lease.seq.toString(),
              tsNs: lease.publishTsNs.toString(),
              ta: lease.aux[aux.ta]!,
              min: lease.aux[aux.min]!,
              max: lease.aux[aux.max]!,
              width: plane.width,
              height: plane.height,
              temperatures,
            }
          }
        } finally {
          consumer.release(lease)
        }
      }
    },
    close() {
      consumer.leave()
    },
  }
}
