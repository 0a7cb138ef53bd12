// Main-thread side of one camera's recording: starts its recorder worker
// under the kernel's supervisor, reads its health from shared memory, turns
// the configured events (motion, detection) and POST /cameras/NAME/clips
// into clip requests, and serves the recordings (listing and files, with
// Range so players seek).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { existsSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import send from 'send'
import type { HttpRoute } from '@heart/contracts'
import type { Kernel } from '@heart/kernel'
import type { PacketRing } from '@heart/ring'
import type { Catalogue } from '@heart/telemetry'
import type { RecordConfig } from './config.js'
import { createRecorderHealthBuffer, readRecorderHealth, RECORDER_TROUBLE, type RecorderHealth } from './health.js'
import { RecordingCatalog } from './catalog.js'
import type { ClipMessage } from './recorder-worker.js'
import type { RecorderMetricsConfig } from './metrics.js'
import { CLIPS_FOLDER } from './segment-files.js'

export const RECORDER_WORKER_URL = new URL('./recorder-worker.js', import.meta.url)

/** What the worker is started with (plain data: it crosses the thread boundary). */
export interface RecorderWorkerConfig {
  camera: string
  root: string
  record: Pick<RecordConfig, 'segmentSeconds' | 'fragmentSeconds' | 'retain'>
  packetsKey: string
  healthKey: string
  /** Record into the shared metrics registry too (heart.recorder.*). */
  metrics?: RecorderMetricsConfig
}

export interface RecorderServiceOptions {
  camera: string
  config: RecordConfig
  /** record.dir resolved (recordRoot). */
  root: string
  packets: PacketRing
  /** The run's shared metrics registry and the catalogue it was built from (it must declare recorderMetrics for this camera). */
  metrics?: { buffer: SharedArrayBuffer; catalogue: Catalogue }
  restart?: { initialMs?: number; maxMs?: number }
}

/** The recorder worker's service name (health's workers, thread names, heart.thread.cpu). */
export function recorderServiceName(camera: string): string {
  return `recorder_${camera}`
}

/** Most a clip may reach back: what the packet ring was sized to hold. */
const CLIP_LIMITS = { preSeconds: 120, postSeconds: 600 }

export class RecorderService {
  readonly name: string
  private readonly healthBuffer = createRecorderHealthBuffer()
  private readonly catalog: RecordingCatalog
  private clipCounter = 0

  private constructor(private readonly kernel: Kernel, private readonly o: RecorderServiceOptions) {
    this.name = recorderServiceName(o.camera)
    this.catalog = new RecordingCatalog(o.root, o.camera)
  }

  static start(kernel: Kernel, options: RecorderServiceOptions): RecorderService {
    const service = new RecorderService(kernel, options)
    const config: RecorderWorkerConfig = {
      camera: options.camera,
      root: options.root,
      record: { segmentSeconds: options.config.segmentSeconds, fragmentSeconds: options.config.fragmentSeconds, retain: options.config.retain },
      packetsKey: 'packets',
      healthKey: 'health',
      ...(options.metrics ? { metrics: { key: 'metrics', catalogue: options.metrics.catalogue } } : {}),
    }
    kernel.startService({
      name: service.name,
      entry: RECORDER_WORKER_URL,
      config,
      shared: { packets: options.packets.buffer, health: service.healthBuffer, ...(options.metrics ? { metrics: options.metrics.buffer } : {}) },
      ...(options.restart ? { restart: options.restart } : {}),
    })
    for (const event of options.config.on) {
      kernel.on<{ captureTsNs?: string }>(event, (e) => {
        const at = e.payload?.captureTsNs
        if (at !== undefined) service.clip({ eventCaptureTsNs: BigInt(at), reason: event, payload: e.payload })
      })
    }
    return service
  }

  /** The /health "recorder" section; null before the worker's first report. */
  health(): RecorderHealth | null {
    return readRecorderHealth(this.healthBuffer)
  }

  /** Why health is not green, or null. */
  trouble(): string | null {
    const h = this.health()
    return h && RECORDER_TROUBLE.has(h.state) ? `recorder ${this.o.camera}: ${h.reason ?? h.state}` : null
  }

  /**
   * Asks the worker for a clip around an event (default: now) and returns
   * where it will be; the file is complete postSeconds after the event.
   */
  clip(request: { eventCaptureTsNs?: bigint; preSeconds?: number; postSeconds?: number; reason: string; payload?: unknown }): { path: string; url: string; eventCaptureTsNs: bigint } {
    const eventCaptureTsNs = request.eventCaptureTsNs ?? process.hrtime.bigint()
    const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
    const path = join(this.o.root, this.o.camera, CLIPS_FOLDER, `${stamp}-${request.reason}-${++this.clipCounter}.mp4`)
    const message: ClipMessage = {
      kind: 'clip',
      eventCaptureTsNs: String(eventCaptureTsNs),
      preSeconds: request.preSeconds ?? this.o.config.preSeconds,
      postSeconds: request.postSeconds ?? this.o.config.postSeconds,
      reason: request.reason,
      payload: request.payload,
      path,
    }
    const worker = this.kernel.supervisor.worker(this.name)
    if (!worker) throw Object.assign(new Error(`the recorder of camera ${this.o.camera} is restarting; try again in a moment`), { status: 503 })
    worker.postMessage(message)
    return { path, url: this.urlOf(path), eventCaptureTsNs }
  }

  routes(): HttpRoute[] {
    const base = `/cameras/${this.o.camera}/recordings`
    return [
      { method: 'GET', path: base, handle: (req, res) => this.list(req, res) },
      { method: 'GET', path: base, prefix: true, handle: (req, res) => this.serveFile(req, res, base) },
      { method: 'POST', path: `/cameras/${this.o.camera}/clips`, handle: (req, res, body) => this.postClip(res, body) },
    ]
  }

  private urlOf(path: string): string {
    return `/cameras/${this.o.camera}/recordings/${relative(join(this.o.root, this.o.camera), path).split(sep).join('/')}`
  }

  private async list(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = new URL(req.url ?? '/', 'http://x').searchParams
    const from = timeParam(query.get('from'))
    const to = timeParam(query.get('to'))
    if (from === 'bad' || to === 'bad') {
      return json(res, 400, { error: `from / to: got ${JSON.stringify(query.get(from === 'bad' ? 'from' : 'to'))}, expected an ISO 8601 time (2026-12-07T15:04:05Z) or milliseconds since 1970` })
    }
    const writing = this.health()?.file ?? null
    const items = (await this.catalog.list({ from, to })).map((r) => ({
      path: r.path,
      url: this.urlOf(r.path),
      start: new Date(r.startMs).toISOString(),
      end: new Date(r.endMs).toISOString(),
      frames: r.frames,
      bytes: r.bytes,
      recording: r.path === writing,
    }))
    json(res, 200, { camera: this.o.camera, recordings: items })
  }

  private serveFile(req: IncomingMessage, res: ServerResponse, base: string): void {
    const rel = decodeURIComponent((req.url ?? '').split('?')[0]!.slice(base.length + 1))
    if (!/\.mp4$|\.json$/.test(rel) || rel.split('/').some((part) => part === '..' || part === '')) {
      return json(res, 404, { error: `no recording ${JSON.stringify(rel)}; GET ${base} lists them` })
    }
    const cameraDir = join(this.o.root, this.o.camera)
    if (!existsSync(join(cameraDir, rel))) return json(res, 404, { error: `no recording ${JSON.stringify(rel)}; GET ${base} lists them` })
    send(req, rel, { root: cameraDir, dotfiles: 'deny', index: false, cacheControl: false })
      .on('error', (error: { status?: number; message: string }) => json(res, error.status ?? 500, { error: error.message }))
      .on('headers', (r: ServerResponse) => r.setHeader('cache-control', 'no-store'))
      .pipe(res)
  }

  private postClip(res: ServerResponse, body: unknown): void {
    const given = (body ?? {}) as Record<string, unknown>
    if (typeof given !== 'object' || Array.isArray(given)) return json(res, 400, { error: 'the body must be a JSON object: { "preSeconds": 5, "postSeconds": 10 }' })
    const problems: string[] = []
    for (const key of Object.keys(given)) if (!(key in CLIP_LIMITS)) problems.push(`${key}: unknown field, allowed: preSeconds, postSeconds`)
    for (const [key, max] of Object.entries(CLIP_LIMITS)) {
      const v = given[key]
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max)) problems.push(`${key}: got ${JSON.stringify(v)}, expected seconds from 0 to ${max}`)
    }
    if (problems.length > 0) return json(res, 400, { error: problems.join('; ') })
    try {
      const clip = this.clip({ reason: 'manual', ...(given as { preSeconds?: number; postSeconds?: number }) })
      json(res, 202, { path: clip.path, url: clip.url, event_capture_ts_ns: String(clip.eventCaptureTsNs) })
    } catch (error) {
      json(res, (error as { status?: number }).status ?? 500, { error: error instanceof Error ? error.message : String(error) })
    }
  }
}

function timeParam(value: string | null): number | undefined | 'bad' {
  if (value === null || value === '') return undefined
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  return Number.isFinite(n) ? n : 'bad'
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(text)
}
