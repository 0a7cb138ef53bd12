// Worker entry of the detection client: offers frames to the client, which
// prepares the request while the frame is leased (in place) and sends it
// after release. Frames it does not send are given back to the ring under a
// reason, so health shows detection_client_slow / ai_locked / rate_limited.

import { serveConsumer } from '@heart/kernel'
import { DropReason } from '@heart/ring'
import type { DropReasonCode } from '@heart/ring'
import { DeepStackProtocol } from './deepstack.js'
import { DetectionClient } from './detection-client.js'
import type { SkipReason } from './detection-client.js'
import { loadNative, nativeLayout } from './native.js'
import { OpenInferenceProtocol } from './oip.js'
import { SERVICE_HEALTH_KEY, ServiceHealthWriter } from './service-health.js'
import type { DetectionProtocol, ImageEncoder } from './protocol.js'
import type { DetectionWorkerOptions } from './services.js'
import type { DetectionEventPayload } from './types.js'

const DROP: Record<SkipReason, DropReasonCode> = {
  // SLOW is reported as `<consumer>_slow`: with the default consumer name that is detection_client_slow.
  detection_client_slow: DropReason.SLOW,
  ai_locked: DropReason.AI_LOCKED,
  rate_limited: DropReason.RATE_LIMITED,
}

serveConsumer<DetectionWorkerOptions>(async (ctx) => {
  const o = ctx.config.app
  const protocol = await createProtocol(o, ctx.log)
  const lastLogged = new Map<string, number>()
  const serviceBuffer = ctx.shared[SERVICE_HEALTH_KEY]
  const service = serviceBuffer ? new ServiceHealthWriter(serviceBuffer) : null
  const client = new DetectionClient({
    protocol,
    deadlineMs: o.deadlineMs,
    maxInFlight: o.maxInFlight,
    // The ring already applies the consumer's fpsCap (counted there); do not cap twice.
    fps: ctx.config.consumer.fpsCap ? 0 : o.fps,
    skipAiLocked: o.skipAiLocked,
    onResult: (r) => {
      service?.up()
      const payload: DetectionEventPayload = { seq: String(r.seq), captureTsNs: String(r.captureTsNs), latencyMs: r.latencyMs, detections: r.detections }
      ctx.emit('detection', payload)
    },
    onError: (error, seq) => {
      service?.failed(error)
      // A dead service fails every request: log each kind of failure at most every 10 s.
      const now = Date.now()
      if (now - (lastLogged.get(error.code) ?? 0) < 10_000) return
      lastLogged.set(error.code, now)
      ctx.log.warn(error.message, { code: error.code, seq, failed: client.stats().failed[error.code] })
    },
  })
  const statsTimer = setInterval(() => ctx.emit('detection.stats', { service: ctx.name, ...client.stats() }), o.statsEveryMs ?? 5000)
  statsTimer.unref()

  return {
    async onFrame(frame, consumer) {
      const outcome = await client.submit(frame)
      if (outcome !== 'sent') consumer.discard(frame, DROP[outcome])
    },
    async onStop() {
      clearInterval(statsTimer)
      await client.close()
    },
  }
})

async function createProtocol(o: DetectionWorkerOptions, log: { warn(msg: string, f?: object): void }): Promise<DetectionProtocol> {
  if (o.protocol === 'oip') return new OpenInferenceProtocol(o.oip!, log)
  let encode: ImageEncoder | undefined
  if ((o.deepstack?.imageFormat ?? 'jpeg') === 'jpeg') {
    encode = await nativeJpegEncoder()
    if (!encode) log.warn('the native JPEG encoder is not available; sending BMP pictures instead (larger, same detections)')
  }
  return new DeepStackProtocol({ ...o.deepstack!, encode })
}

/** The native crate's JPEG encoder (swscale + mjpeg, straight from the slot), when this build has it. */
async function nativeJpegEncoder(): Promise<ImageEncoder | undefined> {
  const { encodeJpeg } = await loadNative()
  if (!encodeJpeg) return undefined
  return (frame, maxWidth) => {
    const scale = Math.min(1, maxWidth / frame.width)
    // Even sizes: 4:2:0 JPEG chroma covers 2x2 pixels.
    const width = Math.max(2, Math.round((frame.width * scale) / 2) * 2)
    const height = Math.max(2, Math.round((frame.height * scale) / 2) * 2)
    const data = encodeJpeg(frame.bytes, nativeLayout(frame), { width, height, quality: 80 })
    return { data, width, height, type: 'image/jpeg' }
  }
}
