// Main-side descriptors: what the CLI passes to kernel.startConsumer() to
// run the vision workers. The workers themselves are separate entry files.

import type { ConsumerSpec } from '@heart/kernel'
import type { ConsumerOptions } from '@heart/ring'
import { checkVisionOptions, detectionOptionsSchema, motionOptionsSchema } from './consumer-kinds.js'
import type { DeepStackOptions } from './deepstack.js'
import type { MotionOptions } from './motion.js'
import type { OipOptions } from './oip.js'
import { SERVICE_HEALTH_KEY, createServiceHealthBuffer } from './service-health.js'

export const motionWorkerEntry = new URL('./motion-worker.js', import.meta.url)
export const detectionWorkerEntry = new URL('./detection-worker.js', import.meta.url)

export interface MotionWorkerOptions {
  /** Detector settings (threshold, minArea, backgroundRate, masks, ...). */
  detector?: MotionOptions
  /**
   * Width the frame is reduced to before detection (downsampling in space).
   * Default 320. The detector block-averages by round(frame width /
   * inputWidth) in JS, or swscale scales the slot natively to that width.
   */
  inputWidth?: number
  /**
   * 'auto' (default): time both on the first frames and keep the faster
   * (logged as "motion scaler chosen"). 'native': swscale from the slot
   * (falls back to 'js' without the addon). 'js': the block average.
   */
  scaler?: 'auto' | 'native' | 'js'
}

export interface DetectionWorkerOptions {
  protocol: 'deepstack' | 'oip'
  /** For protocol 'deepstack' (no `encode`: the worker picks the native JPEG encoder, or BMP). */
  deepstack?: Omit<DeepStackOptions, 'encode'> & { imageFormat?: 'jpeg' | 'bmp' }
  oip?: OipOptions
  deadlineMs?: number
  maxInFlight?: number
  /** Frames per second sent; ignored when the consumer has an fpsCap (the ring then limits). */
  fps?: number
  skipAiLocked?: boolean
  /** How often a `detection.stats` event is emitted. Default 5000 ms. */
  statsEveryMs?: number
}

export interface VisionServiceOptions<A> {
  /** Ring to read (kernel.createRing name). */
  ring: string
  /** Consumer name; also the prefix of its `<name>_slow` drop reason. */
  name?: string
  /** Queue depth, frame-rate cap (downsampling in time), AI-lock skipping: applied by the ring. */
  consumer?: ConsumerOptions
  app: A
}

/**
 * Checks motion worker options in the main thread, so a bad config fails at
 * start-up with a clear message instead of crash-looping the worker. The
 * check is the `motion` kind's option schema (consumer-kinds.ts).
 */
export function validateMotionWorkerOptions(o: unknown): MotionWorkerOptions {
  return checkVisionOptions(motionOptionsSchema, o)
}

/** Checks detection worker options in the main thread: the `detection` kind's option schema. */
export function validateDetectionWorkerOptions(o: unknown): DetectionWorkerOptions {
  return checkVisionOptions(detectionOptionsSchema, o)
}

/** The movement detector as a kernel consumer. */
export function motionService(o: VisionServiceOptions<MotionWorkerOptions>): ConsumerSpec<MotionWorkerOptions> {
  validateMotionWorkerOptions(o.app)
  return {
    name: o.name ?? 'movement_detector',
    entry: motionWorkerEntry,
    ring: o.ring,
    // Motion wants the newest frame, not a backlog: depth 1 drops the oldest for this consumer only.
    consumer: { depth: 1, maxLeases: 1, ...o.consumer },
    app: o.app,
  }
}

/** The detection client as a kernel consumer. */
export function detectionService(o: VisionServiceOptions<DetectionWorkerOptions>): ConsumerSpec<DetectionWorkerOptions> {
  validateDetectionWorkerOptions(o.app)
  return {
    name: o.name ?? 'detection_client',
    entry: detectionWorkerEntry,
    ring: o.ring,
    consumer: { depth: 1, maxLeases: 1, skipAiLocked: true, ...o.consumer },
    app: o.app,
    // Where the worker says whether its service answers (reportServiceHealth shows it in /health).
    shared: { [SERVICE_HEALTH_KEY]: createServiceHealthBuffer() },
  }
}
