// The consumer side of `heart bench ring`: one of four workers receiving 1080p
// frames either from the ring (in place) or by postMessage (transfer / clone).
// Each frame is "used" by reading one byte per 4 KiB page, the same for every
// method, so the comparison is about the hand-off, not the work.
import { parentPort, workerData } from 'node:worker_threads'
import { FrameRing } from '@heart/ring'

interface Job {
  mode: 'ring-blocking' | 'ring-async' | 'message'
  index: number
  ring?: SharedArrayBuffer
  /** [acks, receiveNs(lo/hi) per consumer...] */
  acks: SharedArrayBuffer
  name: string
}

const job = workerData as Job
const acks = new Int32Array(job.acks)
const stamps = new BigInt64Array(job.acks, 8, 8)

function touch(bytes: Uint8Array): number {
  let s = 0
  for (let i = 0; i < bytes.length; i += 4096) s += bytes[i]!
  return s
}

function ack(receivedNs: bigint): void {
  Atomics.store(stamps, job.index, receivedNs)
  Atomics.add(acks, 0, 1)
  Atomics.notify(acks, 0)
}

if (job.mode === 'message') {
  parentPort!.on('message', (m: { frame?: Uint8Array; stop?: boolean }) => {
    if (m.stop) return parentPort!.close()
    const now = process.hrtime.bigint()
    touch(m.frame!)
    ack(now)
  })
  parentPort!.postMessage('ready')
} else {
  const ring = FrameRing.attach(job.ring)
  const consumer = ring.consumer(job.name, { depth: 4 })
  parentPort!.postMessage('ready')
  let stop = false
  parentPort!.on('message', () => (stop = true))
  if (job.mode === 'ring-blocking') {
    // Blocking wait: no event loop needed while frames flow; check stop between waits.
    const loop = (): void => {
      for (let i = 0; i < 1000; i++) {
        const lease = consumer.acquire(20)
        if (!lease) break
        const now = process.hrtime.bigint()
        touch(lease.bytes)
        consumer.release(lease)
        ack(now)
      }
      if (stop) {
        consumer.leave()
        parentPort!.close()
      } else setImmediate(loop)
    }
    loop()
  } else {
    void (async () => {
      while (!stop) {
        const lease = await consumer.acquireAsync(20)
        if (!lease) continue
        const now = process.hrtime.bigint()
        touch(lease.bytes)
        consumer.release(lease)
        ack(now)
      }
      consumer.leave()
      parentPort!.close()
    })()
  }
}
