// How the detection client's outside service looks from the worker that
// talks to it, for /health, the status line and the live view: today a
// refused connection shows only in the logs. The worker writes a small shared
// block when the picture changes (first answer, a failure); the main thread
// reads it when it builds a health report, so a worker busy with frames
// never has to be asked.
import { SharedBlock, defineSharedBlock, type SharedBlockOf } from '@heart/ring'
import type { ConsumerServiceHealth, ConsumerSpec, Kernel } from '@heart/kernel'
import type { VisionError } from './errors.js'

export const serviceHealthLayout = defineSharedBlock({
  name: 'detection service health block',
  // 'HDSV'
  magic: 0x48445356,
  version: 1,
  i32: ['state', 'errorsTotal'] as const,
  strings: { lastError: 240 },
})

type ServiceHealthBlock = SharedBlockOf<typeof serviceHealthLayout>

/** In the order of the block's state word. */
const STATES: readonly ConsumerServiceHealth['state'][] = ['unknown', 'up', 'unreachable', 'failing']
const STATE = { up: 1, unreachable: 2, failing: 3 } as const

/** The key of the block in a consumer spec's shared buffers. */
export const SERVICE_HEALTH_KEY = 'service_health'

/** Failures that mean no answer came at all (as opposed to a wrong or refused one). */
const NO_ANSWER = new Set(['DETECTION_UNREACHABLE', 'DETECTION_TIMEOUT'])

export function createServiceHealthBuffer(): SharedArrayBuffer {
  return SharedBlock.create(serviceHealthLayout).buffer
}

/** The worker side. */
export class ServiceHealthWriter {
  private readonly block: ServiceHealthBlock
  constructor(buffer: unknown) {
    this.block = SharedBlock.attach(serviceHealthLayout, buffer)
  }

  /** An answer came back: written only when the state changes (answers arrive per frame). */
  up(): void {
    const { i32, layout } = this.block
    if (Atomics.load(i32, layout.i32.state) === STATE.up) return
    this.block.beginWrite()
    Atomics.store(i32, layout.i32.state, STATE.up)
    this.block.endWrite()
  }

  failed(error: VisionError): void {
    const { i32, layout } = this.block
    this.block.beginWrite()
    Atomics.store(i32, layout.i32.state, NO_ANSWER.has(error.code) ? STATE.unreachable : STATE.failing)
    Atomics.add(i32, layout.i32.errorsTotal, 1)
    this.block.writeString('lastError', `${error.code}: ${error.message}`)
    this.block.endWrite()
  }
}

/** The main side: the block as /health shows it (`consumers.NAME.service`); null if the writer was mid-write every try. */
export function readServiceHealth(buffer: SharedArrayBuffer): () => ConsumerServiceHealth | null {
  const block = SharedBlock.attach(serviceHealthLayout, buffer)
  return () =>
    block.snapshot((b) => {
      const state = STATES[Atomics.load(b.i32, b.layout.i32.state)] ?? 'unknown'
      const errors = Atomics.load(b.i32, b.layout.i32.errorsTotal)
      return { state, last_error: errors > 0 ? b.readString('lastError') : null, errors_total: errors }
    }, 100)
}

/** Shows a consumer's service block under its name in the kernel's health (when its spec carries one). */
export function reportServiceHealth(kernel: Kernel, spec: Pick<ConsumerSpec, 'name' | 'shared' | 'ring'>): void {
  const buffer = spec.shared?.[SERVICE_HEALTH_KEY]
  if (buffer) kernel.setConsumerServiceHealth(spec.name, readServiceHealth(buffer), spec.ring)
}
