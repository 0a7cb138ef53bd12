// Entry file of a camera's recorder worker, started by the kernel's
// supervisor: attaches the camera's packet ring and the health block, muxes
// with the crate's Mp4Muxer (FFmpeg's mov muxer), and takes clip requests as
// messages from the main thread.
import { parentPort } from 'node:worker_threads'
import { loadNative, serveWorker } from '@heart/kernel'
import { FrameRing, PacketRing } from '@heart/ring'
import { RecorderHealthWriter, recorderHealthWritten } from './health.js'
import { RecorderMetricsWriter } from './metrics.js'
import { captureY4m, type RawCaptureRequest } from './raw-capture.js'
import { Recorder, type ClipRequest } from './recorder.js'
import type { MuxerFactory } from './types.js'
import type { RecorderWorkerConfig } from './service.js'

/** A clip request as it crosses the thread boundary (bigint as text). */
export interface ClipMessage extends Omit<ClipRequest, 'eventCaptureTsNs'> {
  kind: 'clip'
  eventCaptureTsNs: string
}

/** A raw capture request (the path is picked by the main thread). */
export interface CaptureMessage extends Omit<RawCaptureRequest, 'fps'> {
  kind: 'capture'
}

serveWorker<RecorderWorkerConfig>(async (ctx) => {
  const { camera, root, record, packetsKey, healthKey, framesKey } = ctx.config
  // Listen before the first await: requests the main thread sent while this worker loaded are delivered as soon as
  // any listener exists (serveWorker's own one does), and would be lost to this one if it came later.
  const early: (ClipMessage | CaptureMessage)[] = []
  let handle = (message: ClipMessage | CaptureMessage): void => void early.push(message)
  parentPort?.on('message', (message: ClipMessage | CaptureMessage | { kind: string }) => {
    if (message.kind === 'clip' || message.kind === 'capture') handle(message as ClipMessage | CaptureMessage)
  })
  const ring = PacketRing.attach(ctx.shared[packetsKey])
  const restarted = recorderHealthWritten(ctx.shared[healthKey]!)
  const health = new RecorderHealthWriter(ctx.shared[healthKey]!)
  const metrics = RecorderMetricsWriter.attach(ctx.config.metrics, ctx.shared, camera)
  const native = await loadNative(['Mp4Muxer'])
  const muxer: MuxerFactory = (options) => new native.Mp4Muxer(options)
  const recorder = new Recorder({ camera, root, config: record, source: ring, muxer, log: ctx.log, startFrom: restarted ? 'latest-keyframe' : 'oldest', health: (h) => (health.write(h), metrics?.update(h)), emit: ctx.emit })
  const frames = FrameRing.attach(ctx.shared[framesKey])
  handle = (message) => {
    if (message.kind === 'clip') {
      recorder.clip({ ...message, eventCaptureTsNs: BigInt(message.eventCaptureTsNs) })
    } else {
      // Beside the recording loop, on the same thread: a capture waits on the frame ring, not on the disk of the segments.
      void captureY4m(frames, { frames: message.frames, path: message.path, fps: ring.stream()?.fps ?? 0 }, ctx.signal).then((result) => {
        if (result.error) ctx.log.warn('raw capture ended early', { ...result })
        ctx.emit('recording.capture', { camera, ...result })
      })
    }
  }
  for (const message of early.splice(0)) handle(message)
  await recorder.run(ctx.signal)
})
