// Entry file of a camera's recorder worker, started by the kernel's
// supervisor: attaches the camera's packet ring and the health block, muxes
// with the crate's Mp4Muxer (FFmpeg's mov muxer), and takes clip requests as
// messages from the main thread.
import { parentPort } from 'node:worker_threads'
import { loadNative, serveWorker } from '@heart/kernel'
import { PacketRing } from '@heart/ring'
import { RecorderHealthWriter } from './health.js'
import { RecorderMetricsWriter } from './metrics.js'
import { Recorder, type ClipRequest } from './recorder.js'
import type { MuxerFactory } from './types.js'
import type { RecorderWorkerConfig } from './service.js'

/** A clip request as it crosses the thread boundary (bigint as text). */
export interface ClipMessage extends Omit<ClipRequest, 'eventCaptureTsNs'> {
  kind: 'clip'
  eventCaptureTsNs: string
}

serveWorker<RecorderWorkerConfig>(async (ctx) => {
  const { camera, root, record, packetsKey, healthKey } = ctx.config
  const ring = PacketRing.attach(ctx.shared[packetsKey])
  const health = new RecorderHealthWriter(ctx.shared[healthKey]!)
  const metrics = RecorderMetricsWriter.attach(ctx.config.metrics, ctx.shared, camera)
  const native = await loadNative(['Mp4Muxer'])
  const muxer: MuxerFactory = (options) => new native.Mp4Muxer(options)
  const recorder = new Recorder({ camera, root, config: record, source: ring, muxer, log: ctx.log, health: (h) => (health.write(h), metrics?.update(h)), emit: ctx.emit })
  parentPort?.on('message', (message: ClipMessage | { kind: string }) => {
    if (message.kind !== 'clip') return
    const clip = message as ClipMessage
    recorder.clip({ ...clip, eventCaptureTsNs: BigInt(clip.eventCaptureTsNs) })
  })
  await recorder.run(ctx.signal)
})
