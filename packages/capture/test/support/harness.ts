// A capture service under the kernel's real supervisor, in a real worker
// thread, with a consumer on the main thread: what the integration tests
// drive. Everything it starts is stopped by teardown(), even on failure.
import { Supervisor } from '@heart/kernel'
import type { FrameLease, RingConsumer } from '@heart/ring'
import { CaptureService, type CaptureServiceOptions } from '../../src/capture-service.js'
import type { CaptureConfigInput } from '../../src/config.js'
import type { CameraHealth } from '../../src/types.js'

export interface LoggedLine { level: string; msg: string; fields?: Record<string, unknown> }
export interface FrameRecord { seq: bigint; epoch: number; captureTsNs: bigint; publishTsNs: bigint; flags: number; width: number; height: number }

export interface Harness {
  service: CaptureService
  consumer: RingConsumer
  logs: LoggedLine[]
  events: { type: string; payload: unknown }[]
  health(): CameraHealth
  /** Take every queued frame (recording its metadata) and release it. */
  drain(): FrameRecord[]
  /** Poll cond every 20 ms (draining frames into `frames`) until true; throws with the health after ms. */
  until(what: string, cond: () => boolean, ms: number): Promise<number>
  frames: FrameRecord[]
  teardown(): Promise<void>
}

export function startCapture(
  input: CaptureConfigInput,
  ring = { maxConsumers: 2, maxDepth: 32, defaultDepth: 8 },
  metrics?: CaptureServiceOptions['metrics'],
): Harness {
  const logs: LoggedLine[] = []
  const events: { type: string; payload: unknown }[] = []
  const logger = {
    debug: (msg: string, fields?: Record<string, unknown>) => logs.push({ level: 'debug', msg, ...(fields ? { fields } : {}) }),
    info: (msg: string, fields?: Record<string, unknown>) => logs.push({ level: 'info', msg, ...(fields ? { fields } : {}) }),
    warn: (msg: string, fields?: Record<string, unknown>) => logs.push({ level: 'warn', msg, ...(fields ? { fields } : {}) }),
    error: (msg: string, fields?: Record<string, unknown>) => logs.push({ level: 'error', msg, ...(fields ? { fields } : {}) }),
  }
  const supervisor = new Supervisor({ onEvent: (_service, type, payload) => events.push({ type, payload }) }, logger)
  const service = CaptureService.start(supervisor, input, { ring, restart: { initialMs: 100, maxMs: 1000 }, ...(metrics ? { metrics } : {}) })
  const consumer = service.ring.consumer('test', { depth: 32 })
  const frames: FrameRecord[] = []
  const drain = (): FrameRecord[] => {
    const out: FrameRecord[] = []
    for (let lease: FrameLease | null = consumer.tryAcquire(); lease; lease = consumer.tryAcquire()) {
      out.push({ seq: lease.seq, epoch: lease.epoch, captureTsNs: lease.captureTsNs, publishTsNs: lease.publishTsNs, flags: lease.flags, width: lease.width, height: lease.height })
      consumer.release(lease)
    }
    frames.push(...out)
    return out
  }
  let stopped = false
  return {
    service, consumer, logs, events, frames, drain,
    health: () => service.health(),
    async until(what, cond, ms) {
      const start = performance.now()
      for (;;) {
        drain()
        if (cond()) return performance.now() - start
        if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}; health ${JSON.stringify(service.health())}; ` +
          `worker ${JSON.stringify(supervisor.statuses())}; last log lines ${JSON.stringify(logs.slice(-5))}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    async teardown() {
      if (stopped) return
      stopped = true
      try {
        consumer.leave()
      } catch {
        // already gone
      }
      await service.stop()
      await supervisor.stopAll()
    },
  }
}
