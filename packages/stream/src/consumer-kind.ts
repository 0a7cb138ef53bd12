// The `encoder` consumer kind: the JPEG / MJPEG downlink behind the live
// view. Its option schema is strict (a misspelt key is named with a
// did-you-mean) and hands the values to resolveEncoderConfig, the one check
// of encoder options, so a problem is reported with every other problem of
// the config file.
import { checkedBy, defineConsumerKind, show, z } from '@heart/kernel'
import { resolveEncoderConfig } from './frame-encoder.js'
import { startStream } from './stream-service.js'
import type { EncoderConfig } from './types.js'

const given = (): z.ZodType<unknown> => z.unknown().optional()

/** Options of an `encoder` consumer (docs/stream.md): fps, width, height, quality, encoderModule. */
export const encoderOptionsSchema = checkedBy(
  z.preprocess(
    (v) => (v === null || v === undefined ? {} : v),
    z.strictObject(
      { fps: given(), width: given(), height: given(), quality: given(), encoderModule: given() },
      { error: (iss) => (iss.code === 'invalid_type' ? `got ${show(iss.input)}, expected an object with fps, width, height, quality, encoderModule` : undefined) },
    ),
  ) as unknown as z.ZodType<EncoderConfig>,
  (config) => void resolveEncoderConfig(config),
  (message) => message.replace(/^stream encoder config: /, ''),
)

export const encoderKind = defineConsumerKind<EncoderConfig>({
  name: 'encoder',
  description: 'JPEG / MJPEG downlink and the live view: GET /, /stream.mjpeg, /snapshot.jpg',
  options: encoderOptionsSchema,
  async check(entry, where) {
    // The ring's rate cap would starve the encoder's own pacing: one rate, in options.fps.
    return entry.fpsCap === undefined ? [] : [`${where.path}.fpsCap: got ${entry.fpsCap}, but an encoder takes its rate from options.fps, not fpsCap`]
  },
  start(entry, ctx) {
    const camera = ctx.kernel.cameraNames().includes(ctx.ring) ? ctx.ring : null
    // With several cameras the feed shows this camera's motion and detections only.
    const acceptSource = camera === null ? undefined : (source: string): boolean => (ctx.kernel.cameraOfService(source) ?? camera) === camera
    const stream = startStream(ctx.kernel, { ring: ctx.ring, name: entry.name, depth: entry.depth, config: entry.options, thermalRing: ctx.thermalRing ?? undefined, acceptSource })
    return { routes: stream.routes, health: () => ({ stream: stream.stats() }), stop: () => stream.stop() }
  },
})
