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
   * Default 320. The detector block-averages the slot's luma plane in place
   * by round(frame width / inputWidth).
   */
  inputWidth?: number
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

/** What differs between the vision consumers: their worker, default name and ring defaults, and their option check. */
interface VisionServiceKind<A> {
  entry: URL
  defaultName: string
  consumerDefaults: ConsumerOptions
  validate(app: unknown): A
}

/** A vision consumer as a kernel consumer spec: options checked in the main thread, the kind's ring defaults under the caller's. */
function visionService<A>(kind: VisionServiceKind<A>, o: VisionServiceOptions<A>): ConsumerSpec<A> {
  kind.validate(o.app)
  return { name: o.name ?? kind.defaultName, entry: kind.entry, ring: o.ring, consumer: { ...kind.consumerDefaults, ...o.consumer }, app: o.app }
}

const motionServiceKind: VisionServiceKind<MotionWorkerOptions> = {
  entry: motionWorkerEntry,
  defaultName: 'movement_detector',
  // Motion wants the newest frame, not a backlog: depth 1 drops the oldest for this consumer only.
  consumerDefaults: { depth: 1, maxLeases: 1 },
  validate: validateMotionWorkerOptions,
}

const detectionServiceKind: VisionServiceKind<DetectionWorkerOptions> = {
  entry: detectionWorkerEntry,
  defaultName: 'detection_client',
  consumerDefaults: { depth: 1, maxLeases: 1, skipAiLocked: true },
  validate: validateDetectionWorkerOptions,
}

/** The movement detector as a kernel consumer. */
export function motionService(o: VisionServiceOptions<MotionWorkerOptions>): ConsumerSpec<MotionWorkerOptions> {
  return visionService(motionServiceKind, o)
}

/** The detection client as a kernel consumer. */
export function detectionService(o: VisionServiceOptions<DetectionWorkerOptions>): ConsumerSpec<DetectionWorkerOptions> {
  // Where the worker says whether its service answers (reportServiceHealth shows it in /health).
  return { ...visionService(detectionServiceKind, o), shared: { [SERVICE_HEALTH_KEY]: createServiceHealthBuffer() } }
}
