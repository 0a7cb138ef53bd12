// Entry file of a camera's live-mp4 worker, started by the kernel's
// supervisor: attaches the camera's packet ring, the fragment ring it fills
// and the control block, and muxes with the crate's Mp4Muxer while someone
// watches GET /cameras/NAME/live.mp4.
import { loadNative, serveWorker } from '@heart/kernel'
import { PacketRing } from '@heart/ring'
import { LiveMp4Control } from './live-mp4-layout.js'
import { LiveMp4Muxer } from './live-mp4-muxer.js'

/** What the worker is started with (plain data: it crosses the thread boundary). */
export interface LiveMp4WorkerConfig {
  camera: string
  packetsKey: string
  fragmentsKey: string
  controlKey: string
}

serveWorker<LiveMp4WorkerConfig>(async (ctx) => {
  const { packetsKey, fragmentsKey, controlKey } = ctx.config
  const packets = PacketRing.attach(ctx.shared[packetsKey])
  const fragments = PacketRing.attach(ctx.shared[fragmentsKey]).producer()
  const control = LiveMp4Control.attach(ctx.shared[controlKey])
  const native = await loadNative(['Mp4Muxer'])
  const muxer = new LiveMp4Muxer({ packets, fragments, control, muxer: (options) => new native.Mp4Muxer(options), log: ctx.log })
  await muxer.run(ctx.signal)
})
