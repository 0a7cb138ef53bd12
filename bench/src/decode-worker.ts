// A consumer of `heart bench decode`: attaches to the ring, and for every
// frame it gets reads one byte of each 4 KiB page in place (every page of the
// frame is touched, as a consumer looking at the whole picture would), then
// releases it. Reports what it saw when told to stop.
import { parentPort, workerData } from 'node:worker_threads'
import { FrameRing } from '@heart/ring'

interface Job {
  ring: SharedArrayBuffer
  name: string
  depth: number
}

const job = workerData as Job
const consumer = FrameRing.attach(job.ring).consumer(job.name, { depth: job.depth })
let stop = false
let frames = 0
let checksum = 0
parentPort!.on('message', () => (stop = true))
parentPort!.postMessage('ready')

function touch(bytes: Uint8Array): void {
  let s = 0
  for (let i = 0; i < bytes.length; i += 4096) s += bytes[i]!
  checksum = (checksum + s) | 0
}

// Blocking waits in batches, with a turn of the event loop between them so the stop message is heard.
function loop(): void {
  for (let i = 0; i < 256; i++) {
    const lease = consumer.acquire(20)
    if (!lease) break
    touch(lease.bytes)
    consumer.release(lease)
    frames++
  }
  if (!stop) {
    setImmediate(loop)
    return
  }
  // Frames still queued when the producer stopped are part of the run.
  for (let lease = consumer.tryAcquire(); lease; lease = consumer.tryAcquire()) {
    touch(lease.bytes)
    consumer.release(lease)
    frames++
  }
  consumer.leave()
  parentPort!.postMessage({ frames, checksum })
  parentPort!.close()
}
loop()
