// The piscina worker of `heart bench pool`: runs the movement detector on one
// held frame, read in place from its slot. Every ring's SharedArrayBuffer
// comes once, in workerData; a task names only the camera and the slot (the
// dispatcher in the main thread holds the frame's lease until this returns,
// so the producer cannot reuse the slot meanwhile).
//
// The detector keeps state (its background, its calibration) per camera.
// A pool gives a camera's frames to whichever thread is free, so each
// thread keeps a detector per camera, and a detector sees only the frames
// of its camera that landed on its thread: the cost per frame is the real
// one, but the answer is not (the bench counts how often a camera changes
// thread; docs/performance.md says what that means for heart).
import { threadId, workerData } from 'node:worker_threads'
import { nameCurrentThread } from '@heart/kernel'
import { FrameRing } from '@heart/ring'
import type { MotionDetector } from '@heart/vision'
import { cameraDetector, controlWords, detectMotion, POOL_THREAD_COUNTER, WARM_UP_TASK, warmUpMotion, type MotionTask, type MotionTaskDone } from './pool-protocol.js'

interface PoolJob {
  rings: SharedArrayBuffer[]
  control: SharedArrayBuffer
}

const job = workerData as PoolJob
// Named by the order the pool started its threads: the same names every round, so the per-thread figures line up.
nameCurrentThread(`pool_${Atomics.add(controlWords(job.control), POOL_THREAD_COUNTER, 1)}`)
warmUpMotion()
const rings = job.rings.map((buffer) => FrameRing.attach(buffer))
const detectors = new Map<number, MotionDetector>()
const slotViews = new Map<string, Uint8Array>()

export default function motionTask(task: MotionTask): MotionTaskDone {
  if (task.camera === WARM_UP_TASK) return { doneNs: process.hrtime.bigint(), boxes: 0, thread: threadId }
  let detector = detectors.get(task.camera)
  if (!detector) detectors.set(task.camera, (detector = cameraDetector()))
  const key = `${task.camera}/${task.slot}`
  let bytes = slotViews.get(key)
  if (!bytes) slotViews.set(key, (bytes = rings[task.camera]!.views.slotBytes(task.slot)))
  const boxes = detectMotion(detector, bytes, task.luma)
  return { doneNs: process.hrtime.bigint(), boxes, thread: threadId }
}
