// What both ends of `heart bench pool` share: the control block's words (one
// SharedArrayBuffer the main thread, the producer and every consumer thread
// see), the frame geometry, the consumer options of heart's motion kind, the
// messages the workers send back, and the per-frame motion step, so every
// mode runs exactly the same detector on exactly the same frames.
import { frameLayout, type ConsumerOptions, type PlaneLayout } from '@heart/ring'
import { MotionDetector } from '@heart/vision'

export const FRAME_WIDTH = 1920
export const FRAME_HEIGHT = 1080
export const FRAME_LAYOUT = frameLayout(FRAME_WIDTH, FRAME_HEIGHT, 'yuv420p')
export const FPS = 30

/** Int32 word: set to 1 (and notified) to stop the producer. */
export const PRODUCER_STOP = 0
/** Int32 word: set to 1 to stop the consumers once the rings are drained. */
export const CONSUMER_STOP = 1
/** Int32 word: a counter the piscina threads take their index from (their thread names stay the same across rounds). */
export const POOL_THREAD_COUNTER = 2
const CONTROL_I32_WORDS = 4
/** BigInt64 word (after the Int32 words): CLOCK_MONOTONIC ns from which latencies count (0: not yet, the warm-up). */
const MEASURE_FROM = CONTROL_I32_WORDS / 2
export const CONTROL_BYTES = CONTROL_I32_WORDS * 4 + 8

export function controlWords(control: SharedArrayBuffer): Int32Array {
  return new Int32Array(control, 0, CONTROL_I32_WORDS)
}

export function setMeasureFrom(control: SharedArrayBuffer, ns: bigint): void {
  Atomics.store(new BigInt64Array(control), MEASURE_FROM, ns)
}

export function measureFrom(control: SharedArrayBuffer): bigint {
  return Atomics.load(new BigInt64Array(control), MEASURE_FROM)
}

/** What heart's motion consumer kind asks of the ring (packages/vision/src/services.ts): the newest frame, no backlog. */
export const MOTION_CONSUMER: ConsumerOptions = Object.freeze({ depth: 1, maxLeases: 1 })
/** How long one wait for a frame lasts before the stop word is read again (the consumer service waits 100 ms too). */
export const WAIT_MS = 100
/** Its consumer name in every ring, as `heart run` names the motion consumer. */
export const MOTION_NAME = 'motion'
/** The motion worker's default input width (motion-worker.ts): the luma plane is block-averaged down to it. */
const INPUT_WIDTH = 320

/** A detector set up as the motion worker sets one up for a 1080p frame. */
export function cameraDetector(): MotionDetector {
  return new MotionDetector({ downscale: Math.max(1, Math.round(FRAME_WIDTH / INPUT_WIDTH)) })
}

/**
 * Runs the detector's JavaScript (labelling, boxes) on small generated
 * frames until V8 has optimised it, as the motion worker does before it
 * joins its ring: cold, the first frames take many times longer, and with a
 * queue of one frame that loses frames no mode would lose once warm.
 */
export function warmUpMotion(): void {
  const width = 640
  const height = 360
  const plane = new Uint8Array(width * height)
  const detector = new MotionDetector({ downscale: 2, calibrationFrames: 1 })
  for (let n = 0; n < 40; n++) {
    const sx = (n * 14) % (width - 80)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) plane[y * width + x] = x >= sx && x < sx + 80 && y >= 120 && y < 180 ? 230 : (x + y + n * 4) & 127
    detector.process(plane, width, height)
  }
}

/** The per-frame work: the real detector on the luma plane, read in place from the slot. Returns the boxes found. */
export function detectMotion(detector: MotionDetector, bytes: Uint8Array, luma: PlaneLayout): number {
  return detector.processPlane(bytes, luma).boxCount
}

/** The producer's last message. */
export interface ProducerDone {
  published: number[]
  /** Frames it could not publish because no slot was free (0 when the ring is sized by its rule). */
  noSlot: number[]
}

/** A consumer thread's (or the dispatcher's) figures for one camera. */
export interface CameraCounts {
  camera: number
  processed: number
  /** Publish to motion done, in µs, for frames published after the warm-up. */
  latencyUs: number[]
  /** Frames with motion boxes: proof the pattern gave the detector work. */
  withMotion: number
  /** Times the camera's next frame ran on another pool thread than its last (piscina only). */
  threadSwitches: number
}

/** Counts one processed frame: its latency only when it was published after the warm-up. */
export function countFrame(counts: CameraCounts, control: SharedArrayBuffer, publishTsNs: bigint, doneNs: bigint, boxes: number): void {
  const from = measureFrom(control)
  if (from > 0n && publishTsNs >= from) counts.latencyUs.push(Number(doneNs - publishTsNs) / 1e3)
  counts.processed++
  if (boxes > 0) counts.withMotion++
}

/** The camera of a task sent before the cameras start, so every pool thread has loaded its module: it runs nothing. */
export const WARM_UP_TASK = -1

/** The task the piscina dispatcher submits: one held frame, by slot. */
export interface MotionTask {
  /** The camera (its ring's index in workerData), or WARM_UP_TASK. */
  camera: number
  slot: number
  luma: PlaneLayout
}

/** The pool thread's answer: when motion was done and where. */
export interface MotionTaskDone {
  doneNs: bigint
  boxes: number
  thread: number
}
