// The main-thread side of one camera: creates the ring and the shared health
// block, starts the capture worker under the kernel's supervisor, and answers
// health and AI-lock calls from shared memory, without ever waiting on the
// worker.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { FrameRing, PacketRing, frameLayout, type RingOptions } from '@heart/ring'
import type { Catalogue } from '@heart/telemetry'
import { resolveCaptureConfig, ringFrameSize, type CaptureConfigInput } from './config.js'
import { CaptureHealthReader, createHealthBuffer } from './health-block.js'
import { parseSource } from './sources/registry.js'
import type { CameraHealth, CaptureConfig, CaptureWorkerConfig, SourceSpec } from './types.js'

/** The shape of the kernel's Supervisor that the service needs (structural, for tests and fakes). */
export interface CaptureSupervisor {
  start(spec: {
    name: string
    camera?: string
    entry: URL
    config: CaptureWorkerConfig
    shared: Record<string, SharedArrayBuffer>
    restart?: { initialMs?: number; maxMs?: number }
  }): unknown
  stop(name: string, timeoutMs?: number): Promise<void>
}

/** Same shape as the kernel's HttpRoute. */
export interface CaptureRoute {
  method: 'GET' | 'POST'
  path: string
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>
}

export interface CaptureServiceOptions {
  /** Service name (and log field); default "capture". */
  name?: string
  /** The camera's name in heart's config: its log lines say `camera`. */
  camera?: string
  /** Ring geometry besides slotBytes (which comes from capture.expect.maxSize and pixFmt). */
  ring?: Omit<RingOptions, 'slotBytes'>
  /** The shared metrics registry to record into, with the catalogue it was built from. */
  metrics?: { buffer: SharedArrayBuffer; catalogue: Catalogue }
  /** Worker restart backoff after a crash. */
  restart?: { initialMs?: number; maxMs?: number }
  /** Share the camera's compressed packets in a packet ring of this size (recording, passthrough live view). */
  packets?: { dataBytes: number; indexEntries: number }
  /** Override the worker entry (tests). */
  entry?: URL
}

export const CAPTURE_WORKER_ENTRY = new URL('./capture-worker.js', import.meta.url)

export class CaptureService {
  readonly name: string
  readonly config: CaptureConfig
  readonly spec: SourceSpec
  readonly ring: FrameRing
  /** The compressed packets, when CaptureServiceOptions.packets asked for them. */
  readonly packets: PacketRing | null
  /** The health block (pass to other threads that want to read camera health). */
  readonly healthBuffer: SharedArrayBuffer
  private readonly reader: CaptureHealthReader
  private readonly supervisor: CaptureSupervisor
  private stopped: Promise<void> | undefined

  private constructor(supervisor: CaptureSupervisor, config: CaptureConfig, options: CaptureServiceOptions) {
    this.supervisor = supervisor
    this.name = options.name ?? 'capture'
    this.config = config
    this.spec = parseSource(config.source)
    // Slots are sized once for the largest frame the ring takes (the output size, the crop or expect.maxSize); a bigger camera fails at open.
    const frame = ringFrameSize(config)
    const slotBytes = frameLayout(frame.width, frame.height, config.pixFmt).byteLength
    this.ring = FrameRing.create({ ...options.ring, slotBytes })
    this.packets = options.packets ? PacketRing.create(options.packets) : null
    this.healthBuffer = createHealthBuffer()
    this.reader = new CaptureHealthReader(this.healthBuffer)
  }

  /**
   * Validates the config (throwing INVALID_SOURCE / INVALID_CONFIG with a
   * hint), creates the ring and starts the worker. Returns at once: the first
   * connection, and its retries, happen in the worker.
   */
  static start(supervisor: CaptureSupervisor, input: CaptureConfigInput | string, options: CaptureServiceOptions = {}): CaptureService {
    const config = resolveCaptureConfig(typeof input === 'string' ? { source: input } : input)
    const service = new CaptureService(supervisor, config, options)
    const shared: Record<string, SharedArrayBuffer> = { ring: service.ring.buffer, health: service.healthBuffer }
    const workerConfig: CaptureWorkerConfig = { capture: config, ringKey: 'ring', healthKey: 'health' }
    if (service.packets) {
      shared.packets = service.packets.buffer
      workerConfig.packetsKey = 'packets'
    }
    if (options.metrics) {
      shared.metrics = options.metrics.buffer
      workerConfig.metrics = { key: 'metrics', catalogue: options.metrics.catalogue }
    }
    supervisor.start({
      name: service.name,
      ...(options.camera === undefined ? {} : { camera: options.camera }),
      entry: options.entry ?? CAPTURE_WORKER_ENTRY,
      config: workerConfig,
      shared,
      ...(options.restart ? { restart: options.restart } : {}),
    })
    return service
  }

  /** The `camera` object of /health, read from shared memory (never blocks). */
  health(): CameraHealth {
    return this.reader.snapshot({ redAfterMs: this.config.redAfterMs, yellowForMs: this.config.yellowForMs })
  }

  /** The supervisor's AI-lock: while set, every published frame carries FrameFlags.AI_LOCKED. */
  setAiLock(locked: boolean): void {
    this.reader.setAiLock(locked)
  }

  get aiLocked(): boolean {
    return this.reader.aiLocked()
  }

  /**
   * POST /cameras/NAME/down and /up (with a camera name), and the wave-1
   * POST /camera/down and /up (`unprefixed`, the default without a name).
   */
  routes(camera?: string, options: { unprefixed?: boolean } = {}): CaptureRoute[] {
    const answer = (locked: boolean) => (_req: IncomingMessage, res: ServerResponse): void => {
      this.setAiLock(locked)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ai_locked: this.aiLocked }))
    }
    const bases = [...(camera === undefined ? [] : [`/cameras/${camera}`]), ...((options.unprefixed ?? camera === undefined) ? ['/camera'] : [])]
    return bases.flatMap((base): CaptureRoute[] => [
      { method: 'POST', path: `${base}/down`, handle: answer(true) },
      { method: 'POST', path: `${base}/up`, handle: answer(false) },
    ])
  }

  /** Stops the worker (terminating it if the decoder does not return within timeoutMs). Idempotent. */
  stop(timeoutMs = 1000): Promise<void> {
    this.stopped ??= this.supervisor.stop(this.name, timeoutMs).then(() => {
      // The worker may have been terminated mid-write; say so rather than show a stale state.
      this.reader.markStopped()
    })
    return this.stopped
  }
}
