// Main-thread side of a camera's passthrough live view: starts its live-mp4
// worker under the kernel's supervisor, tells it through the control block
// whether anyone watches, and serves GET /cameras/NAME/live.mp4: per viewer
// the init segment, then every fragment from the latest keyframe on, copied
// out of the fragment ring onto the socket. The main thread moves fragments
// the worker made; it never parses or muxes a packet.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HttpRoute } from '@heart/contracts'
import type { Kernel } from '@heart/kernel'
import { PacketRing, type PacketReader, type PacketRecord, type PacketRingOptions } from '@heart/ring'
import { LiveMp4Control, type LiveMp4Status } from './live-mp4-layout.js'
import { LIVE_TIMESCALE } from './live-mp4-muxer.js'
import type { LiveMp4WorkerConfig } from './live-mp4-worker.js'

export const LIVE_MP4_WORKER_URL = new URL('./live-mp4-worker.js', import.meta.url)

export interface LiveMp4ServiceOptions {
  camera: string
  /** The camera's packet ring (the capture worker fills it). */
  packets: PacketRing
  /** Size of the fragment ring: at least one GOP of fragments (packetRingBytes at the camera's bitrate). */
  fragmentRing: PacketRingOptions
  /** Also serve the camera under the unprefixed paths (/live.mp4, /live.json) of the one-camera routes. */
  unprefixed?: boolean
  /**
   * Bytes a viewer's response may hold queued in this process (what the
   * socket did not take yet) before its fragments are skipped up to the next
   * keyframe. Default 1 MiB: a keyframe or two of 1080p.
   */
  maxQueuedBytes?: number
  restart?: { initialMs?: number; maxMs?: number }
}

export interface LiveMp4Stats {
  state: LiveMp4Status['state']
  mime_codec: string | null
  problem: string | null
  viewers: number
  /** Fragments a slow viewer did not get: it skipped to the next keyframe instead of queueing them. */
  skipped: number
  fragments_sent: number
  /** Bytes queued for viewers in this process now, all viewers together (bounded by maxQueuedBytes each, plus one fragment). */
  queued_bytes: number
  fragments_made: number
  packets_lost: number
}

/** The live-mp4 worker's service name (health's workers, thread names, heart.thread.cpu). */
export function liveMp4ServiceName(camera: string): string {
  return `live_mp4_${camera}`
}

interface Viewer {
  res: ServerResponse
  /** Its own reader while it catches up from the latest keyframe; null once it is at the live edge with the others. */
  catchUp: PacketReader | null
  /** The last fragment's seq this viewer was offered (sent or skipped). */
  lastSeq: bigint
  /** Fragment-ring epoch this response's init segment belongs to (-1 before it was sent). */
  epoch: number
  /** The viewer fell behind: fragments are skipped until a keyframe comes with its queue below the budget. */
  needKeyframe: boolean
  closed: boolean
}

const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024

const NO_STORE = 'no-store, no-cache, must-revalidate'
/** The 503 a viewer gets when the stream cannot be served: MSE needs H.264 (or HEVC where the browser has it). */
const RETRY_AFTER_S = '2'

export class LiveMp4Service {
  readonly name: string
  readonly fragments: PacketRing
  readonly control = LiveMp4Control.create()
  private readonly viewers = new Set<Viewer>()
  /** Viewers at the live edge: one reader serves them all, one copy of each fragment for all. */
  private readonly atEdge = new Set<Viewer>()
  private readonly edge: PacketReader
  private edgeRunning = false
  private skipped = 0
  private sent = 0
  private viewerCounter = 0
  private readonly maxQueuedBytes: number

  private constructor(private readonly o: LiveMp4ServiceOptions) {
    this.name = liveMp4ServiceName(o.camera)
    this.fragments = PacketRing.create(o.fragmentRing)
    this.maxQueuedBytes = o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES
    this.edge = this.fragments.reader({ name: 'viewers', start: 'next' })
  }

  static start(kernel: Pick<Kernel, 'startService'>, options: LiveMp4ServiceOptions): LiveMp4Service {
    const service = new LiveMp4Service(options)
    const config: LiveMp4WorkerConfig = { camera: options.camera, packetsKey: 'packets', fragmentsKey: 'fragments', controlKey: 'control' }
    kernel.startService({
      name: service.name,
      camera: options.camera,
      entry: LIVE_MP4_WORKER_URL,
      config,
      shared: { packets: options.packets.buffer, fragments: service.fragments.buffer, control: service.control.buffer },
      ...(options.restart ? { restart: options.restart } : {}),
    })
    return service
  }

  stats(): LiveMp4Stats {
    const s = this.control.status()
    return {
      state: s.state,
      mime_codec: s.mimeCodec || null,
      problem: s.problem || null,
      viewers: this.viewers.size,
      skipped: this.skipped,
      fragments_sent: this.sent,
      queued_bytes: [...this.viewers].reduce((sum, v) => sum + v.res.writableLength, 0),
      fragments_made: s.fragments,
      packets_lost: s.packetsLost,
    }
  }

  /** `unprefixed`: whether it is the first camera now (a reload may have removed the one before it); default as started. */
  routes(options: { unprefixed?: boolean } = {}): HttpRoute[] {
    const bases = [`/cameras/${this.o.camera}`, ...((options.unprefixed ?? this.o.unprefixed) ? [''] : [])]
    return bases.flatMap((base) => [
      { method: 'GET' as const, path: `${base}/live.mp4`, stream: 'mp4' as const, handle: (req: IncomingMessage, res: ServerResponse) => this.serve(req, res) },
      { method: 'GET' as const, path: `${base}/live.json`, handle: (_req: IncomingMessage, res: ServerResponse) => this.describe(res) },
    ])
  }

  /** Ends every viewer (at stop). */
  close(): void {
    for (const viewer of this.viewers) viewer.res.end()
  }

  /** GET live.json: whether live.mp4 can be served, and the codec to test with MediaSource.isTypeSupported. */
  private describe(res: ServerResponse): void {
    const stream = this.fragments.stream()
    const unavailable = this.unavailable()
    json(res, 200, {
      ...this.stats(),
      camera: this.o.camera,
      url: `/cameras/${this.o.camera}/live.mp4`,
      available: unavailable === null,
      problem: unavailable,
      codec: stream?.codec ?? null,
      mimeCodec: this.control.status().mimeCodec || null,
      width: stream?.width ?? null,
      height: stream?.height ?? null,
      fps: stream?.fps ?? null,
      timescale: LIVE_TIMESCALE,
    })
  }

  /** Why live.mp4 cannot be served now, or null. */
  private unavailable(): string | null {
    const status = this.control.status()
    if (status.state === 'failed') return status.problem || 'the live-mp4 worker failed'
    if (!this.o.packets.stream()) return 'the camera has sent no compressed stream yet (it is starting, or its source gives decoded frames only: MJPEG and raw cameras have no passthrough; watch /stream.mjpeg)'
    if (status.state === 'starting' || !this.fragments.stream()) return 'the live-mp4 worker is starting; try again in a moment'
    return null
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const problem = this.unavailable()
    if (problem !== null) {
      res.setHeader('Retry-After', RETRY_AFTER_S)
      json(res, 503, { error: `live.mp4 of camera ${this.o.camera} is not available: ${problem}` })
      return
    }
    req.socket.setNoDelay(true) // a fragment is one frame: it should leave as soon as it is written
    res.writeHead(200, {
      'Content-Type': 'video/mp4',
      'Cache-Control': NO_STORE,
      Pragma: 'no-cache',
      Connection: 'close',
      'X-Accel-Buffering': 'no',
      'X-Mime-Codec': this.control.status().mimeCodec,
    })
    res.flushHeaders()
    const viewer: Viewer = {
      res,
      catchUp: this.fragments.reader({ name: `viewer_${++this.viewerCounter}`, start: 'latest-keyframe' }),
      lastSeq: -1n,
      epoch: -1,
      needKeyframe: false,
      closed: false,
    }
    this.viewers.add(viewer)
    this.control.setWanted(true)
    res.once('close', () => {
      viewer.closed = true
      this.viewers.delete(viewer)
      this.atEdge.delete(viewer)
      if (this.viewers.size === 0) this.control.setWanted(false)
    })
    this.catchUp(viewer)
  }

  /**
   * A new viewer reads the history it needs (from the latest keyframe) with
   * its own reader, then joins the viewers at the live edge: there it costs
   * one write per fragment, no read and no copy of its own.
   */
  private catchUp(viewer: Viewer): void {
    const reader = viewer.catchUp!
    for (let record = reader.next(); record && !viewer.closed; record = reader.next()) this.deliver(viewer, record, Buffer.from(record.data))
    // Caught up in this same turn of the event loop: the edge reader is at most where this one is, never past it.
    viewer.catchUp = null
    if (viewer.closed) return
    this.atEdge.add(viewer)
    if (!this.edgeRunning) void this.pumpEdge()
  }

  private async pumpEdge(): Promise<void> {
    this.edgeRunning = true
    // To the live edge, reading through the current GOP: a reader sought to 'next' would
    // skip on to the next keyframe, and the viewers that just caught up would miss those fragments.
    this.edge.seek('latest-keyframe')
    while (this.edge.next()) continue
    while (this.atEdge.size > 0) {
      const record = this.edge.next()
      if (!record) {
        await this.edge.wait(1000)
        continue
      }
      // One copy out of the reader's scratch buffer, shared by every viewer's write.
      let bytes: Buffer | null = null
      for (const viewer of this.atEdge) {
        if (record.seq <= viewer.lastSeq) continue
        bytes ??= Buffer.from(record.data)
        this.deliver(viewer, record, bytes)
      }
    }
    this.edgeRunning = false
  }

  private deliver(viewer: Viewer, record: PacketRecord, bytes: Buffer): void {
    if (viewer.closed) return
    // A hole in what this viewer was offered (the edge reader fell behind the ring): resume at a keyframe.
    if (viewer.lastSeq >= 0n && record.seq !== viewer.lastSeq + 1n) viewer.needKeyframe = true
    viewer.lastSeq = record.seq
    if (record.epoch !== viewer.epoch) {
      if (viewer.epoch !== -1) {
        // The worker restarted its muxer (the camera reopened, maybe with other parameters): end
        // this response; the page reconnects and gets the new init segment.
        viewer.res.end()
        viewer.closed = true
        return
      }
      const stream = this.fragments.stream()
      // A fragment left from an earlier viewing (the worker has not resumed yet, or it has and
      // this one is of the epoch before): wait for the first keyframe of this viewing.
      if (!stream || stream.epoch !== record.epoch || !record.keyframe || this.control.status().state !== 'muxing') return
      viewer.epoch = record.epoch
      viewer.res.write(Buffer.from(stream.codecConfig))
    }
    // A viewer whose socket does not take what it is sent (a slow link, a paused tab) gets no
    // more until it caught up, and then resumes at a keyframe: queueing for it would grow without bound.
    if (viewer.res.writableLength > this.maxQueuedBytes || (viewer.needKeyframe && !record.keyframe)) {
      this.skipped++
      viewer.needKeyframe = true
      return
    }
    viewer.needKeyframe = false
    this.sent++
    viewer.res.write(bytes)
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': NO_STORE })
  res.end(text)
}

/** GET /clock: this server's wall clock and monotonic clock, for a page that estimates its offset from them. */
export function clockRoute(): HttpRoute {
  return {
    method: 'GET',
    path: '/clock',
    handle: (_req, res) => json(res, 200, { wallMs: Date.now(), monotonicNs: String(process.hrtime.bigint()) }),
  }
}
