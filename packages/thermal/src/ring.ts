// The thermal ring: 32x24 float32 temperatures per slot, plus Ta / min / max / mean in aux.
import { frameLayout, type FrameLayout, type RingOptions } from '@heart/ring'
import { COLS, ROWS } from './registers.js'

/** Aux word indexes of a thermal frame in the ring. */
export const ThermalAux = Object.freeze({ TA: 0, MIN: 1, MAX: 2, MEAN: 3 })
export const THERMAL_AUX_WORDS = 8

export function thermalFrameLayout(): FrameLayout {
  return frameLayout(COLS, ROWS, 'grayf32')
}

export function thermalRingOptions(overrides: Partial<RingOptions> = {}): RingOptions {
  return { slotBytes: thermalFrameLayout().byteLength, auxWords: THERMAL_AUX_WORDS, maxConsumers: 4, defaultDepth: 2, ...overrides }
}
