import type { ConsumerConfig, HttpRoute, Kernel } from '@heart/kernel'
import type { FrameRing } from '@heart/ring'
import { detectionService, motionService } from '@heart/vision'
import { startStream } from '@heart/stream'
import { usage } from './errors.js'

/** What a started consumer kind gives back to `heart run` (most give nothing). */
export interface StartedConsumer {
  routes?: HttpRoute[]
  /** Extra fields for /health. */
  health?: () => Record<string, unknown>
  stop?: () => void
}

export interface KindContext {
  kernel: Kernel
  /** The kernel ring name of the camera. */
  ring: string
  /** The camera source is synthetic:// (the verify kind checks its pattern). */
  synthetic: boolean
  /** The thermal ring, when a thermal sensor runs (the live view draws it). */
  thermalRing: FrameRing | null
}

interface Kind {
  description: string
  start(c: ConsumerConfig, ctx: KindContext): StartedConsumer
}

/** Ring options every kind honours from the config's consumer entry. */
function ringOptions(c: ConsumerConfig): { depth?: number; fpsCap?: number; skipAiLocked?: boolean } {
  const o: { depth?: number; fpsCap?: number; skipAiLocked?: boolean } = {}
  if (c.depth !== undefined) o.depth = c.depth
  if (c.fpsCap !== undefined) o.fpsCap = c.fpsCap
  if (c.skipAiLocked !== undefined) o.skipAiLocked = c.skipAiLocked
  return o
}

/** Consumer kinds `heart run` knows; each runs as a supervised worker reading ring slots in place. */
export const CONSUMER_KINDS: Record<string, Kind> = {
  verify: {
    description: 'reads every pixel; on synthetic:// proves each frame is intact',
    start(c, ctx) {
      ctx.kernel.startConsumer({
        name: c.name,
        entry: new URL('./consumers/verify-worker.js', import.meta.url),
        ring: ctx.ring,
        consumer: ringOptions(c),
        app: { synthetic: ctx.synthetic, ...c.options },
      })
      return {}
    },
  },
  motion: {
    description: 'movement detector on the luma plane: motion boxes as events (docs/vision.md)',
    start(c, ctx) {
      const spec = motionService({ ring: ctx.ring, name: c.name, app: c.options ?? {} })
      ctx.kernel.startConsumer({ ...spec, consumer: { ...spec.consumer, ...ringOptions(c) } })
      return {}
    },
  },
  detection: {
    description: 'object detection client (DeepStack / CodeProject.AI or Open Inference Protocol v2): detections as events',
    start(c, ctx) {
      // The detection service checks the options (and names what is wrong) before the worker starts.
      const app = (c.options ?? { protocol: 'deepstack' }) as unknown as Parameters<typeof detectionService>[0]['app']
      const spec = detectionService({ ring: ctx.ring, name: c.name, app })
      ctx.kernel.startConsumer({ ...spec, consumer: { ...spec.consumer, ...ringOptions(c) } })
      return {}
    },
  },
  encoder: {
    description: 'JPEG / MJPEG downlink and the live view: GET /, /stream.mjpeg, /snapshot.jpg',
    start(c, ctx) {
      if (c.fpsCap !== undefined) throw usage(`consumers: "${c.name}" (encoder) takes its rate from options.fps, not fpsCap`)
      const stream = startStream(ctx.kernel, { ring: ctx.ring, name: c.name, depth: c.depth, config: c.options ?? {}, thermalRing: ctx.thermalRing ?? undefined })
      return { routes: stream.routes, health: () => ({ stream: stream.stats() }), stop: () => stream.stop() }
    },
  },
}

/** Starts one configured consumer; a bad kind or bad options name the consumer. */
export function startConsumerKind(c: ConsumerConfig, ctx: KindContext): StartedConsumer {
  const kind = CONSUMER_KINDS[c.kind]
  if (!kind) throw usage(`consumers: "${c.name}" has kind "${c.kind}", allowed: ${Object.keys(CONSUMER_KINDS).join(' | ')}`)
  try {
    return kind.start(c, ctx)
  } catch (error) {
    if (error instanceof Error) error.message = `consumers: "${c.name}" (${c.kind}): ${error.message}`
    throw error
  }
}
