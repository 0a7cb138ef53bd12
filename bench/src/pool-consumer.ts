// A motion consumer thread of `heart bench pool`. Mode `threads` starts one
// per camera, what `heart run` does today (one consumer worker per camera
// per kind); mode `shared` starts one for every camera, bounded threads
// without a task pool's messages. Each camera is the loop of heart's
// consumer service (packages/kernel/src/consumer-service.ts): acquireAsync,
// the detector on the luma plane in place, release; in the shared thread the
// cameras' loops take turns on its event loop.
import { parentPort, workerData } from 'node:worker_threads'
import { nameCurrentThread } from '@heart/kernel'
import { FrameRing } from '@heart/ring'
import { cameraDetector, CONSUMER_STOP, controlWords, countFrame, detectMotion, MOTION_CONSUMER, MOTION_NAME, WAIT_MS, warmUpMotion, type CameraCounts } from './pool-protocol.js'

interface ConsumerJob {
  rings: SharedArrayBuffer[]
  /** The camera number of each ring, for the figures. */
  cameras: number[]
  control: SharedArrayBuffer
  threadName: string
}

const job = workerData as ConsumerJob
nameCurrentThread(job.threadName)
const control = controlWords(job.control)
warmUpMotion()
const consumers = job.rings.map((buffer) => FrameRing.attach(buffer).consumer(MOTION_NAME, MOTION_CONSUMER))
parentPort!.postMessage('ready')

async function serveCamera(index: number): Promise<CameraCounts> {
  const consumer = consumers[index]!
  const detector = cameraDetector()
  const counts: CameraCounts = { camera: job.cameras[index]!, processed: 0, latencyUs: [], withMotion: 0, threadSwitches: 0 }
  while (Atomics.load(control, CONSUMER_STOP) === 0) {
    const frame = await consumer.acquireAsync(WAIT_MS)
    if (!frame) continue
    const boxes = detectMotion(detector, frame.bytes, frame.planes[0]!)
    countFrame(counts, job.control, frame.publishTsNs, process.hrtime.bigint(), boxes)
    consumer.release(frame)
  }
  consumer.leave()
  return counts
}

const counts = await Promise.all(consumers.map((_, index) => serveCamera(index)))
parentPort!.postMessage(counts)
