// The `tamper` consumer kind: notices a camera that still streams but no
// longer sees anything useful: the lens covered or painted (dark), blinded by
// a light (bright), or staring at a flat, featureless image (a bag over it,
// pointed at a wall, a frozen encoder sending grey). It samples the luma of a
// grid of pixels in place, so it costs microseconds a frame, and emits one
// `camera.tamper` event when a condition has held for `holdMs`, and one with
// `state: clear` when the picture has been normal that long again.
//
// This file is the whole kind (the worked example in docs/architecture.md):
// the option schema runs in the main thread, the default export in the
// consumer's worker.
import { integer, object, type FrameHandler, type Infer, type ServiceContext, type ConsumerServiceConfig } from '@heart/kernel'
import type { FrameLease } from '@heart/ring'
import { defineWorkerKind } from './worker-kind.js'

const tamperOptionsSchema = object({
  /** Mean luma (0..255) below this is `dark`. Video black is 16 and white 235 in the limited range most cameras send. */
  darkBelow: integer({ min: 0, max: 255, default: 24 }),
  /** Mean luma above this is `bright` (a light shone into the lens saturates to white). */
  brightAbove: integer({ min: 0, max: 255, default: 228 }),
  /** Luma standard deviation below this is `flat` (a normal scene is 20..70). */
  flatBelow: integer({ min: 0, max: 128, default: 4 }),
  /** How long a state must hold before it is reported, so a passing shadow is not. */
  holdMs: integer({ min: 0, max: 600_000, default: 2000 }),
  /** Sample every Nth pixel of every Nth row. */
  sampleStep: integer({ min: 1, max: 64, default: 8 }),
})

export type TamperOptions = Infer<typeof tamperOptionsSchema>

export type TamperState = 'clear' | 'dark' | 'bright' | 'flat'

/** The `camera.tamper` event's payload. */
export interface TamperEvent {
  state: TamperState
  /** The state before this one. */
  from: TamperState
  meanLuma: number
  stddevLuma: number
  /** The frame that confirmed the state. */
  seq: string
}

export const tamperKind = defineWorkerKind<TamperOptions>({
  name: 'tamper',
  description: 'reports a covered, blinded or featureless camera (camera.tamper events)',
  options: tamperOptionsSchema,
  setup: import.meta.url,
})

/** Mean and standard deviation of the luma of a sample grid of the frame, read in place. */
export function lumaStats(frame: Pick<FrameLease, 'bytes' | 'pixFmt' | 'planes'>, step: number): { mean: number; stddev: number } {
  const plane = frame.planes[0]!
  // Planar and semi-planar formats keep luma in plane 0; packed RGB is weighed per pixel (BT.601, integer).
  const bytesPerPixel = frame.pixFmt === 'rgb24' || frame.pixFmt === 'bgr24' ? 3 : 1
  const redFirst = frame.pixFmt === 'rgb24'
  let sum = 0
  let sumSquares = 0
  let count = 0
  for (let y = 0; y < plane.height; y += step) {
    const row = plane.offset + y * plane.stride
    for (let x = 0; x < plane.width; x += step) {
      const at = row + x * bytesPerPixel
      let luma = frame.bytes[at]!
      if (bytesPerPixel === 3) {
        const r = redFirst ? frame.bytes[at]! : frame.bytes[at + 2]!
        const b = redFirst ? frame.bytes[at + 2]! : frame.bytes[at]!
        luma = (77 * r + 150 * frame.bytes[at + 1]! + 29 * b) >> 8
      }
      sum += luma
      sumSquares += luma * luma
      count++
    }
  }
  const mean = sum / count
  return { mean, stddev: Math.sqrt(Math.max(0, sumSquares / count - mean * mean)) }
}

/** What one frame looks like, by the thresholds. Dark and bright win over flat: a black frame is also flat. */
export function classify(stats: { mean: number; stddev: number }, o: TamperOptions): TamperState {
  if (stats.mean < o.darkBelow) return 'dark'
  if (stats.mean > o.brightAbove) return 'bright'
  if (stats.stddev < o.flatBelow) return 'flat'
  return 'clear'
}

export default function setup(ctx: ServiceContext<ConsumerServiceConfig<TamperOptions>>): FrameHandler {
  const options = ctx.config.app
  let reported: TamperState = 'clear'
  let candidate: TamperState = 'clear'
  let candidateSinceNs = 0n
  const holdNs = BigInt(options.holdMs) * 1_000_000n
  return {
    onFrame(frame) {
      const stats = lumaStats(frame, options.sampleStep)
      const seen = classify(stats, options)
      if (seen !== candidate) {
        candidate = seen
        candidateSinceNs = frame.captureTsNs
      }
      if (candidate === reported || frame.captureTsNs - candidateSinceNs < holdNs) return
      const event: TamperEvent = { state: candidate, from: reported, meanLuma: Math.round(stats.mean * 10) / 10, stddevLuma: Math.round(stats.stddev * 10) / 10, seq: frame.seq.toString() }
      reported = candidate
      if (candidate === 'clear') ctx.log.info('camera picture is normal again', { ...event })
      else ctx.log.warn('camera looks tampered with', { ...event, hint: 'check the lens, the mounting and the lighting' })
      ctx.emit('camera.tamper', event)
    },
  }
}
