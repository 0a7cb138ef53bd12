// Main-thread side of the encoder: the consumer spec the kernel starts, and
// the wiring from the JPEG share to the hub and the live feed.

import type { ConsumerOptions } from '@heart/ring'
import { JpegShare } from './jpeg-share.js'
import type { LiveFeed } from './live-feed.js'
import type { MjpegHub } from './mjpeg-hub.js'
import type { EncoderConfig } from './types.js'
import { resolveEncoderConfig } from './frame-encoder.js'

/** Key of the JPEG share in the worker's ctx.shared. */
export const JPEG_SHARE_KEY = 'jpegs'

/** The ring consumer name the encoder uses by default (its drops are counted under it). */
export const DEFAULT_ENCODER_NAME = 'telemetry_stream'

export function encoderWorkerUrl(): URL {
  return new URL('./encoder-worker.js', import.meta.url)
}

/** Structurally @heart/kernel's ConsumerSpec<EncoderConfig>. */
export interface EncoderConsumerSpec {
  name: string
  entry: URL
  ring: string
  consumer: ConsumerOptions
  app: EncoderConfig
  shared: Record<string, SharedArrayBuffer>
}

export interface EncoderSpecOptions {
  /** Which kernel ring to encode (the camera ring). */
  ring: string
  share: JpegShare
  config?: EncoderConfig
  name?: string
  /** Frames queued for the encoder before the oldest is dropped as `<name>_slow`. Default 1. */
  depth?: number
}

/**
 * What to pass to `kernel.startConsumer()`. By default the consumer keeps one
 * frame queued and holds one lease: a live view wants the newest frame, and
 * older ones are dropped (and counted) in the ring rather than encoded late.
 * A deeper queue rides out the encoder thread waiting for a core on a busy
 * machine (at 15 fps each queued frame is 67 ms of slack). The rate cap is
 * the ring's `fpsCap`, so skipped frames show up as `rate_limited` in /health.
 */
export function encoderConsumerSpec(opts: EncoderSpecOptions): EncoderConsumerSpec {
  const config = opts.config ?? {}
  const resolved = resolveEncoderConfig(config) // fail here, in the main thread, on bad config
  return {
    name: opts.name ?? DEFAULT_ENCODER_NAME,
    entry: encoderWorkerUrl(),
    ring: opts.ring,
    consumer: { depth: opts.depth ?? 1, maxLeases: 1, fpsCap: resolved.fps },
    app: config,
    shared: { [JPEG_SHARE_KEY]: opts.share.buffer },
  }
}

/**
 * Pumps JPEGs from the share into the hub (and their metadata into the live
 * feed), and tells the encoder through the share when the hub wants JPEGs (a
 * viewer or a snapshot request), so it encodes only then. Returns the stop
 * function.
 */
export function connectEncoder(share: JpegShare, hub: MjpegHub, feed?: LiveFeed): () => void {
  const off = feed ? hub.onPublish((frame) => feed.publishFrame(frame)) : () => {}
  const offDemand = hub.onDemand((wanted) => share.setWanted(wanted))
  const stopPump = share.pump((frame) => hub.publish(frame))
  return () => {
    stopPump()
    offDemand()
    share.setWanted(false)
    off()
  }
}

/** Something events can be subscribed on: @heart/kernel's Kernel or EventQueue. */
export interface EventSource {
  on(type: string, handler: (event: { type: string; payload: unknown; source: string }) => void): () => void
}

/** Forwards motion, detection and thermal events to the live feed. Returns the unsubscribe function. */
export function connectEvents(events: EventSource, feed: LiveFeed, accept: (source: string) => boolean = () => true): () => void {
  // Motion and detection belong to a camera (`accept` keeps this feed's); the thermal sensor is the box's.
  const offs = ['motion', 'detection'].map((type) => events.on(type, (e) => {
    if (accept(e.source)) feed.publish(e.type, e.payload)
  }))
  offs.push(events.on('thermal.frame', (e) => feed.publish(e.type, e.payload)))
  return () => {
    for (const off of offs) off()
  }
}
