// One call for the `heart` CLI: start the encoder worker on the camera ring,
// wire its JPEGs into the hub and the events into the live feed, and hand back
// the routes to mount.

import type { Kernel, RestartPolicy } from '@heart/kernel'
import type { FrameRing } from '@heart/ring'
import { connectEncoder, connectEvents, encoderConsumerSpec } from './encoder-service.js'
import { DEFAULT_SLOT_BYTES, JpegShare } from './jpeg-share.js'
import { LiveFeed } from './live-feed.js'
import { MjpegHub } from './mjpeg-hub.js'
import { streamRoutes } from './routes.js'
import { thermalRingSource, type ThermalRingSource } from './thermal-source.js'
import type { EncoderConfig, HttpRoute, HubStats } from './types.js'

export interface StartStreamOptions {
  /** The kernel ring to encode. Default `camera`. */
  ring?: string
  /** Service and ring consumer name. Default `telemetry_stream`. */
  name?: string
  /** The encoder's queue depth (see encoderConsumerSpec). Default 1. */
  depth?: number
  config?: EncoderConfig
  /** The thermal ring, for the heat map's temperatures (thermal.frame events carry only Ta/min/max). */
  thermalRing?: FrameRing
  /** Largest JPEG the share holds. Default 1 MiB. */
  slotBytes?: number
  restart?: RestartPolicy
  /** Which events are this camera's: the live feed shows motion and detection of the ring's camera only (default: every event). */
  acceptSource?: (source: string) => boolean
}

export interface StreamService {
  hub: MjpegHub
  feed: LiveFeed
  share: JpegShare
  /** GET /, /live/live.js, /live/live.css, /stream.mjpeg, /snapshot.jpg, /frames/latest.json, /events. */
  routes: HttpRoute[]
  stats(): HubStats & { feedClients: number }
  /** Ends viewers and event streams and unhooks from the kernel (the kernel stops the worker). */
  stop(): void
}

export function startStream(kernel: Kernel, opts: StartStreamOptions = {}): StreamService {
  const share = JpegShare.create(opts.slotBytes ?? DEFAULT_SLOT_BYTES)
  const spec = encoderConsumerSpec({ ring: opts.ring ?? 'camera', share, config: opts.config, name: opts.name, depth: opts.depth })
  const thermal: ThermalRingSource | null = opts.thermalRing ? thermalRingSource(opts.thermalRing) : null
  const hub = new MjpegHub()
  const feed = new LiveFeed(thermal ? { thermalLatest: () => thermal.latest() } : {})
  const disconnectEncoder = connectEncoder(share, hub, feed)
  const disconnectEvents = connectEvents(kernel, feed, opts.acceptSource)
  kernel.startConsumer({ ...spec, restart: opts.restart })
  return {
    hub,
    feed,
    share,
    routes: streamRoutes({ hub, feed }),
    stats: () => ({ ...hub.stats(), feedClients: feed.clientCount() }),
    stop: () => {
      disconnectEvents()
      disconnectEncoder()
      hub.close()
      feed.close()
      thermal?.close()
    },
  }
}
