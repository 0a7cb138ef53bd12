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
  const ring = PacketRing.attach(ctx.shared[packetsKey])
  const restarted = recorderHealthWritten(ctx.shared[healthKey]!)
  const health = new RecorderHealthWriter(ctx.shared[healthKey]!)
  const metrics = RecorderMetricsWriter.attach(ctx.config.metrics, ctx.shared, camera)
  const native = await loadNative(['Mp4Muxer'])
  const muxer: MuxerFactory = (options) => new native.Mp4Muxer(options)
  const recorder = new Recorder({ camera, root, config: record, source: ring, muxer, log: ctx.log, startFrom: restarted ? 'latest-keyframe' : 'oldest', health: (h) => (health.write(h), metrics?.update(h)), emit: ctx.emit })
  const frames = FrameRing.attach(ctx.shared[framesKey])
  parentPort?.on('message', (message: ClipMessage | CaptureMessage | { kind: string }) => {
    if (message.kind === 'clip') {
      const clip = message as ClipMessage
      recorder.clip({ ...clip, eventCaptureTsNs: BigInt(clip.eventCaptureTsNs) })
    } else if (message.kind === 'capture') {
      const request = message as CaptureMessage
      // Beside the recording loop, on the same thread: a capture waits on the frame ring, not on the disk of the segments.
      void captureY4m(frames, { frames: request.frames, path: request.path, fps: ring.stream()?.fps ?? 0 }, ctx.signal).then((result) => {
        if (result.error) ctx.log.warn('raw capture ended early', { ...result })
        ctx.emit('recording.capture', { camera, ...result })
      })
    }
  })
  await recorder.run(ctx.signal)
})
