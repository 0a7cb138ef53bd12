// The cameras of `heart bench pool`: one thread publishing 1080p yuv420p
// frames into every ring at 30 FPS real time, as a capture worker publishes
// decoded frames (capture and decode timestamps in the metadata). The
// cameras are spread over the frame interval (camera i publishes i/N of a
// frame after camera 0), as real cameras are not in phase. Each frame is a
// gradient with a bright square moving over it, at another place in each
// camera, so the movement detector finds motion in every frame.
import { parentPort, workerData } from 'node:worker_threads'
import { nameCurrentThread } from '@heart/kernel'
import { FrameRing } from '@heart/ring'
import { controlWords, FPS, FRAME_HEIGHT, FRAME_LAYOUT, FRAME_WIDTH, PRODUCER_STOP, type ProducerDone } from './pool-protocol.js'

interface ProducerJob {
  rings: SharedArrayBuffer[]
  control: SharedArrayBuffer
}

const SQUARE = 160
/** Pixels the square moves a frame: fast enough that every frame differs from the last. */
const STEP = 12

const job = workerData as ProducerJob
nameCurrentThread('feed')
const control = controlWords(job.control)
const producers = job.rings.map((buffer) => FrameRing.attach(buffer).producer())
const luma = FRAME_LAYOUT.planes[0]!
const background = new Uint8Array(luma.stride * luma.height)
for (let y = 0; y < luma.height; y++) for (let x = 0; x < luma.width; x++) background[y * luma.stride + x] = 40 + ((x + y) >> 4) % 64

function drawFrame(bytes: Uint8Array, camera: number, frame: number): void {
  bytes.set(background, luma.offset)
  const span = FRAME_WIDTH - SQUARE
  const sx = (frame * STEP + camera * 400) % span
  const sy = ((camera * 211) % (FRAME_HEIGHT - SQUARE)) | 0
  for (let y = sy; y < sy + SQUARE; y++) bytes.fill(230, luma.offset + y * luma.stride + sx, luma.offset + y * luma.stride + sx + SQUARE)
}

const cameras = producers.length
const published = new Array<number>(cameras).fill(0)
const noSlot = new Array<number>(cameras).fill(0)
const intervalMs = 1000 / FPS / cameras
// Loading this thread takes a while (seconds under a test runner on a busy box): the bench's clock starts when it publishes.
parentPort!.postMessage('ready')
const start = performance.now()
for (let k = 0; Atomics.load(control, PRODUCER_STOP) === 0; k++) {
  const due = start + k * intervalMs
  const waitMs = due - performance.now()
  // Sleeps until the frame is due; a stop request wakes it at once.
  if (waitMs > 0 && Atomics.wait(control, PRODUCER_STOP, 0, waitMs) !== 'timed-out') break
  const camera = k % cameras
  const producer = producers[camera]!
  const slot = producer.beginWrite()
  if (!slot) {
    noSlot[camera]!++
    continue
  }
  const captured = process.hrtime.bigint()
  drawFrame(slot.bytes, camera, Math.floor(k / cameras))
  producer.commit(slot, { captureTsNs: captured, decodeTsNs: process.hrtime.bigint(), width: FRAME_WIDTH, height: FRAME_HEIGHT, pixFmt: 'yuv420p', planes: FRAME_LAYOUT.planes })
  published[camera]!++
}
parentPort!.postMessage({ published, noSlot } satisfies ProducerDone)
