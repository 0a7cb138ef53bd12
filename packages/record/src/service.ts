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
import type { FrameRing, PacketRing } from '@heart/ring'
import type { Catalogue } from '@heart/telemetry'
import type { RecordConfig } from './config.js'
import { createRecorderHealthBuffer, readRecorderHealth, RECORDER_TROUBLE, type RecorderHealth } from './health.js'
import { RecordingCatalog } from './catalog.js'
import type { RecorderMetricsConfig } from './metrics.js'
import { MAX_CAPTURE_FRAMES, y4mRefusal } from './raw-capture.js'
import type { CaptureMessage, ClipMessage } from './recorder-worker.js'
import { CAPTURES_FOLDER, CLIPS_FOLDER, eventFileName } from './segment-files.js'

export const RECORDER_WORKER_URL = new URL('./recorder-worker.js', import.meta.url)

/** What the worker is started with (plain data: it crosses the thread boundary). */
export interface RecorderWorkerConfig {
  camera: string
  root: string
  record: Pick<RecordConfig, 'segmentSeconds' | 'fragmentSeconds' | 'retain'>
  packetsKey: string
  healthKey: string
  /** The camera's frame ring (raw captures read it). */
  framesKey: string
  /** Record into the shared metrics registry too (heart.recorder.*). */
  metrics?: RecorderMetricsConfig
}

export interface RecorderServiceOptions {
  camera: string
  config: RecordConfig
  /** record.dir resolved (recordRoot). */
  root: string
  packets: PacketRing
  /** The camera's frame ring, for raw captures. */
  frames: FrameRing
  /** The ring's pixel format (camera.pixFmt): Y4M captures need a YUV or gray one. */
  pixFmt: string
  /** The run's shared metrics registry and the catalogue it was built from (it must declare recorderMetrics for this camera). */
  metrics?: { buffer: SharedArrayBuffer; catalogue: Catalogue }
  restart?: { initialMs?: number; maxMs?: number }
}

/** The recorder worker's service name (health's workers, thread names, heart.thread.cpu). */
export function recorderServiceName(camera: string): string {
  return `recorder_${camera}`
}

/**
 * How far a clip's end must have moved before the worker is told: often
 * enough that a clip rarely ends before an extension on its way arrives (the
 * worker ends it once a packet passes its end), rarely enough to be cheap.
 */
const EXTEND_EVERY_NS = 250_000_000n

/** Most a clip may reach back: what the packet ring was sized to hold. */
const CLIP_LIMITS = { preSeconds: 120, postSeconds: 600 }

export class RecorderService {
  readonly name: string
  private readonly healthBuffer = createRecorderHealthBuffer()
  private readonly catalog: RecordingCatalog
  private clipCounter = 0
  /** The clip each event kind is cutting (record.on), to extend it rather than start another. */
  private readonly autoClips = new Map<string, { path: string; untilNs: bigint; toldUntilNs: bigint; lastNs: bigint }>()
  /** One raw capture at a time (each holds a place in the frame ring). */
  private captureRunning = false
  /** Its event subscriptions, dropped at stop. */
  private readonly unsubscribe: Array<() => void> = []

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
      framesKey: 'frames',
      ...(options.metrics ? { metrics: { key: 'metrics', catalogue: options.metrics.catalogue } } : {}),
    }
    kernel.startService({
      name: service.name,
      camera: options.camera,
      entry: RECORDER_WORKER_URL,
      config,
      shared: { packets: options.packets.buffer, health: service.healthBuffer, frames: options.frames.buffer, ...(options.metrics ? { metrics: options.metrics.buffer } : {}) },
      ...(options.restart ? { restart: options.restart } : {}),
    })
    service.unsubscribe.push(kernel.on<{ path?: string }>('recording.capture', (e) => {
      if (e.source === service.name) service.captureRunning = false
    }))
    for (const event of options.config.on) {
      service.unsubscribe.push(kernel.on<{ captureTsNs?: string; boxes?: unknown[]; detections?: unknown[] }>(event, (e) => {
        const at = e.payload?.captureTsNs
        // Motion sends one event per frame while something moves and an empty one when it stops: only the former cut clips.
        const found = (e.payload?.boxes ?? e.payload?.detections ?? []).length > 0
        if (at !== undefined && found) service.onEvent(event, BigInt(at), e.payload)
      }))
    }
    return service
  }

  /**
   * Stops the worker (a reload removed or changed the camera): the segment
   * being written is closed by the worker as at any stop; no event cuts a clip after this.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off()
    await this.kernel.supervisor.stop(this.name, timeoutMs)
  }

  /**
   * An event that cuts clips (record.on): the first starts a clip; later ones
   * of the same kind while it is being written extend it (the worker is told
   * at most four times a second), up to record.maxClipSeconds after the first;
   * past that, or once the clip has ended, the next event starts a new one.
   */
  onEvent(kind: string, eventCaptureTsNs: bigint, payload: unknown): void {
    const postNs = BigInt(Math.round(this.o.config.postSeconds * 1e9))
    const active = this.autoClips.get(kind)
    if (active && eventCaptureTsNs <= active.untilNs) {
      // Within the clip being cut: it runs on to postSeconds after this event, but never past maxClipSeconds after its first.
      const cappedNs = eventCaptureTsNs + postNs < active.lastNs ? eventCaptureTsNs + postNs : active.lastNs
      if (cappedNs > active.untilNs) {
        active.untilNs = cappedNs
        if (cappedNs - active.toldUntilNs >= EXTEND_EVERY_NS || cappedNs === active.lastNs) {
          active.toldUntilNs = cappedNs
          // The worker extends to eventCaptureTsNs + postSeconds: give it the event time that ends at cappedNs.
          const at = cappedNs - postNs
          try {
            this.tellWorker({ kind: 'clip', eventCaptureTsNs: String(at), preSeconds: this.o.config.preSeconds, postSeconds: this.o.config.postSeconds, reason: kind, path: active.path })
          } catch {
            // The recorder is restarting: the clip ends where the worker last heard.
          }
        }
      }
      return
    }
    const untilNs = eventCaptureTsNs + postNs
    try {
      const clip = this.clip({ eventCaptureTsNs, reason: kind, payload })
      this.autoClips.set(kind, { path: clip.path, untilNs, toldUntilNs: untilNs, lastNs: eventCaptureTsNs + BigInt(Math.round(this.o.config.maxClipSeconds * 1e9)) })
    } catch {
      // The recorder is restarting: this event cuts no clip; the next one may.
    }
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
    const path = join(this.o.root, this.o.camera, CLIPS_FOLDER, eventFileName(Date.now(), request.reason, ++this.clipCounter, 'mp4'))
    const message: ClipMessage = {
      kind: 'clip',
      eventCaptureTsNs: String(eventCaptureTsNs),
      preSeconds: request.preSeconds ?? this.o.config.preSeconds,
      postSeconds: request.postSeconds ?? this.o.config.postSeconds,
      reason: request.reason,
      payload: request.payload,
      path,
    }
    this.tellWorker(message)
    return { path, url: this.urlOf(path), eventCaptureTsNs }
  }

  private tellWorker(message: ClipMessage | CaptureMessage): void {
    const worker = this.kernel.supervisor.worker(this.name)
    if (!worker) throw Object.assign(new Error(`the recorder of camera ${this.o.camera} is restarting; try again in a moment`), { status: 503 })
    worker.postMessage(message)
  }

  routes(): HttpRoute[] {
    const base = `/cameras/${this.o.camera}/recordings`
    return [
      { method: 'GET', path: base, handle: (req, res) => this.list(req, res) },
      { method: 'GET', path: base, prefix: true, handle: (req, res) => this.serveFile(req, res, base) },
      { method: 'POST', path: `/cameras/${this.o.camera}/clips`, handle: (req, res, body) => this.postClip(res, body) },
      { method: 'POST', path: `/cameras/${this.o.camera}/capture`, handle: (req, res, body) => this.postCapture(res, body) },
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
    if (!/\.(mp4|json|y4m)$/.test(rel) || rel.split('/').some((part) => part === '..' || part === '')) {
      return json(res, 404, { error: `no recording ${JSON.stringify(rel)}; GET ${base} lists them` })
    }
    const cameraDir = join(this.o.root, this.o.camera)
    if (!existsSync(join(cameraDir, rel))) return json(res, 404, { error: `no recording ${JSON.stringify(rel)}; GET ${base} lists them` })
    send(req, rel, { root: cameraDir, dotfiles: 'deny', index: false, cacheControl: false })
      .on('error', (error: { status?: number; message: string }) => json(res, error.status ?? 500, { error: error.message }))
      .on('headers', (r: ServerResponse) => r.setHeader('cache-control', 'no-store'))
      .pipe(res)
  }

  private postCapture(res: ServerResponse, body: unknown): void {
    const request = captureRequest(body)
    if ('problems' in request) return json(res, 400, { error: request.problems.join('; ') })
    const refusal = y4mRefusal(this.o.pixFmt)
    if (refusal) return json(res, 409, { error: refusal })
    if (this.captureRunning) return json(res, 409, { error: 'a raw capture is being written; wait for it to finish (its event is recording.capture)' })
    if (!this.kernel.supervisor.worker(this.name)) return json(res, 503, { error: `the recorder of camera ${this.o.camera} is restarting; try again in a moment` })
    const path = join(this.o.root, this.o.camera, CAPTURES_FOLDER, eventFileName(Date.now(), 'capture', ++this.clipCounter, 'y4m'))
    this.captureRunning = true
    this.tellWorker({ kind: 'capture', frames: request.frames, path })
    json(res, 202, { path, url: this.urlOf(path), frames: request.frames, format: 'y4m' })
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

/** The problems of a POST /cameras/NAME/capture body, or the frame count it asks for. */
function captureRequest(body: unknown): { frames: number } | { problems: string[] } {
  const given = (body ?? {}) as Record<string, unknown>
  if (typeof given !== 'object' || Array.isArray(given)) return { problems: ['the body must be a JSON object: { "frames": 30, "format": "y4m" }'] }
  const problems: string[] = []
  for (const key of Object.keys(given)) if (key !== 'frames' && key !== 'format') problems.push(`${key}: unknown field, allowed: frames, format`)
  const frames = given.frames
  if (typeof frames !== 'number' || !Number.isInteger(frames) || frames < 1 || frames > MAX_CAPTURE_FRAMES) problems.push(`frames: got ${JSON.stringify(frames)}, expected a whole number from 1 to ${MAX_CAPTURE_FRAMES}`)
  if (given.format !== undefined && given.format !== 'y4m') problems.push(`format: got ${JSON.stringify(given.format)}, allowed: y4m`)
  return problems.length > 0 ? { problems } : { frames: frames as number }
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
