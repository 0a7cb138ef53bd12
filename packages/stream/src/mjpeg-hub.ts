// MjpegHub: one encode, many viewers. The hub keeps only the latest JPEG; each
// viewer is sent the newest frame whenever its socket has drained, so a slow
// viewer skips frames instead of queueing them. Per viewer, at most one part
// sits in user-space buffers beyond the socket's high-water mark, whatever the
// frame rate and however long the viewer stalls: memory stays bounded.
//
// The hub also says when JPEGs are wanted at all (a viewer is connected or a
// snapshot request waits): the encoder works only then, so with nobody
// watching it costs nothing.

import type { EncodedFrame, HubStats } from './types.js'

/** Multipart boundary of /stream.mjpeg (no `--` prefix; that is added per part). */
export const MJPEG_BOUNDARY = 'heartframe'

const CRLF = Buffer.from('\r\n')

/** The subset of a writable (http.ServerResponse, net.Socket) the hub needs. */
export interface ViewerSink {
  write(chunk: Buffer): boolean
  once(event: 'drain' | 'close' | 'error', listener: (...args: unknown[]) => void): unknown
  removeListener(event: 'drain' | 'close' | 'error', listener: (...args: unknown[]) => void): unknown
  end(): unknown
  readonly writableLength: number
  readonly destroyed: boolean
}

export interface ViewerStats {
  sent: number
  /** Frames this viewer will never be sent (published while its socket was full, and since replaced). */
  skipped: number
  /** 1 when a newer frame waits for this viewer's socket to drain, else 0. */
  pending: number
  /** Bytes the sink holds that the peer has not taken yet. */
  buffered: number
  waitingForDrain: boolean
}

export interface ViewerHandle {
  stats(): ViewerStats
  /** Stops sending to this viewer (the sink is left open; the caller owns it). */
  detach(): void
}

interface PreparedFrame {
  frame: EncodedFrame
  /** Hub-internal publish counter: unlike seq it has no gaps, so skips are exact. */
  index: number
  partHead: Buffer
}

interface Viewer {
  sink: ViewerSink
  waitingForDrain: boolean
  lastIndex: number
  sent: number
  skipped: number
  onDrain: () => void
  onGone: () => void
}

export interface MjpegHubOptions {
  /** Monotonic clock in ms (injectable for tests). Default performance.now. */
  now?: () => number
  /** A JPEG at most this old answers a snapshot at once, even with nobody watching. Default 250 ms. */
  snapshotFreshMs?: number
}

/** Default of MjpegHubOptions.snapshotFreshMs: a few frame intervals at the default 15 fps. */
export const SNAPSHOT_FRESH_MS = 250

export class MjpegHub {
  private latestPrepared: PreparedFrame | null = null
  private latestAtMs = -Infinity
  private readonly now: () => number
  private readonly snapshotFreshMs: number
  private readonly demandListeners = new Set<(wanted: boolean) => void>()
  private snapshotWaiters = 0
  private wantedNow = false
  private wantedSinceMs = Infinity
  private readonly viewers = new Set<Viewer>()
  private readonly listeners = new Set<(frame: EncodedFrame) => void>()
  private published = 0
  private skippedByGone = 0
  private sentByGone = 0

  constructor(options: MjpegHubOptions = {}) {
    this.now = options.now ?? (() => performance.now())
    this.snapshotFreshMs = options.snapshotFreshMs ?? SNAPSHOT_FRESH_MS
  }

  /** True while a viewer is connected or a snapshot request waits for a frame. */
  get wanted(): boolean {
    return this.wantedNow
  }

  /**
   * Calls `listener` with the current answer and again whenever it changes
   * (the encoder wiring turns the encoder on and off with it). Returns the
   * unsubscribe function.
   */
  onDemand(listener: (wanted: boolean) => void): () => void {
    const entry = (wanted: boolean): void => listener(wanted)
    this.demandListeners.add(entry)
    entry(this.wantedNow)
    return () => {
      this.demandListeners.delete(entry)
    }
  }

  /**
   * The newest frame for a snapshot: the latest JPEG when the encoder has been
   * working since it was wanted (or the JPEG is at most snapshotFreshMs old);
   * otherwise the hub asks for one, waits up to `timeoutMs` for it and stops
   * asking again. Null when none came in time.
   */
  async freshFrame(timeoutMs: number): Promise<EncodedFrame | null> {
    const latest = this.latestPrepared
    if (latest && this.latestIsFresh()) return latest.frame
    this.snapshotWaiters++
    this.updateDemand()
    try {
      return await this.nextFrame(timeoutMs)
    } finally {
      this.snapshotWaiters--
      this.updateDemand()
    }
  }

  /** Replaces the latest frame and sends it to every viewer whose socket has drained. */
  publish(frame: EncodedFrame): void {
    this.published++
    this.latestPrepared = { frame, index: this.published, partHead: partHead(frame) }
    this.latestAtMs = this.now()
    for (const viewer of this.viewers) {
      if (!viewer.waitingForDrain) this.send(viewer)
    }
    for (const listener of this.listeners) listener(frame)
  }

  latest(): EncodedFrame | null {
    return this.latestPrepared?.frame ?? null
  }

  /** Resolves with the next published frame, or null after `timeoutMs`. */
  nextFrame(timeoutMs: number): Promise<EncodedFrame | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off()
        resolve(null)
      }, timeoutMs)
      const off = this.onPublish((frame) => {
        clearTimeout(timer)
        off()
        resolve(frame)
      })
    })
  }

  /** Calls `listener` after every publish; returns the unsubscribe function. */
  onPublish(listener: (frame: EncodedFrame) => void): () => void {
    // Wrap so the same function can subscribe twice and unsubscribe independently.
    const entry = (frame: EncodedFrame): void => listener(frame)
    this.listeners.add(entry)
    return () => {
      this.listeners.delete(entry)
    }
  }

  /**
   * Starts streaming multipart parts to `sink` (whose response head the caller
   * has already written). Sends the latest frame at once if there is one. The
   * viewer goes away by itself when the sink closes or errors.
   */
  addViewer(sink: ViewerSink): ViewerHandle {
    const viewer: Viewer = {
      sink,
      waitingForDrain: false,
      lastIndex: this.latestPrepared ? this.latestPrepared.index - 1 : 0,
      sent: 0,
      skipped: 0,
      onDrain: () => {
        viewer.waitingForDrain = false
        if (!this.viewers.has(viewer)) return
        // Jump straight to the newest frame: everything in between is skipped.
        if (this.latestPrepared && this.latestPrepared.index > viewer.lastIndex) this.send(viewer)
      },
      onGone: () => this.remove(viewer),
    }
    this.viewers.add(viewer)
    this.updateDemand()
    sink.once('close', viewer.onGone)
    sink.once('error', viewer.onGone)
    if (this.latestPrepared) this.send(viewer)
    return {
      stats: () => ({
        sent: viewer.sent,
        skipped: viewer.skipped + this.skippedWhileWaiting(viewer),
        pending: this.pendingFor(viewer),
        buffered: sink.writableLength,
        waitingForDrain: viewer.waitingForDrain,
      }),
      detach: () => this.remove(viewer),
    }
  }

  stats(): HubStats {
    let skipped = this.skippedByGone
    let sent = this.sentByGone
    for (const viewer of this.viewers) {
      skipped += viewer.skipped + this.skippedWhileWaiting(viewer)
      sent += viewer.sent
    }
    const latest = this.latestPrepared?.frame
    return {
      viewers: this.viewers.size,
      published: this.published,
      sent,
      skipped,
      latestSeq: latest ? latest.meta.seq.toString() : null,
      latestBytes: latest ? latest.jpeg.byteLength : 0,
      wanted: this.wantedNow,
    }
  }

  /** Ends every viewer's response (used on shutdown). */
  close(): void {
    for (const viewer of [...this.viewers]) {
      this.remove(viewer)
      if (!viewer.sink.destroyed) viewer.sink.end()
    }
  }

  private pendingFor(viewer: Viewer): number {
    return this.latestPrepared && this.latestPrepared.index > viewer.lastIndex ? 1 : 0
  }

  /** Frames published since the viewer's last part, except the newest (which it may still get). */
  private skippedWhileWaiting(viewer: Viewer): number {
    return this.latestPrepared ? Math.max(0, this.latestPrepared.index - viewer.lastIndex - 1) : 0
  }

  private send(viewer: Viewer): void {
    const prepared = this.latestPrepared
    if (!prepared || viewer.sink.destroyed) return
    viewer.skipped += prepared.index - viewer.lastIndex - 1
    viewer.lastIndex = prepared.index
    viewer.sent++
    viewer.sink.write(prepared.partHead)
    viewer.sink.write(prepared.frame.jpeg)
    // The last write's answer covers all three: false means the sink is over
    // its high-water mark, so wait for 'drain' and skip frames until then.
    if (!viewer.sink.write(CRLF)) {
      viewer.waitingForDrain = true
      viewer.sink.once('drain', viewer.onDrain)
    }
  }

  private remove(viewer: Viewer): void {
    if (!this.viewers.delete(viewer)) return
    this.skippedByGone += viewer.skipped + this.skippedWhileWaiting(viewer) + this.pendingFor(viewer)
    this.sentByGone += viewer.sent
    viewer.sink.removeListener('drain', viewer.onDrain)
    viewer.sink.removeListener('close', viewer.onGone)
    viewer.sink.removeListener('error', viewer.onGone)
    this.updateDemand()
  }

  private latestIsFresh(): boolean {
    // Published while JPEGs were wanted: the encoder is working, this is its newest.
    if (this.wantedNow && this.latestAtMs >= this.wantedSinceMs) return true
    return this.now() - this.latestAtMs <= this.snapshotFreshMs
  }

  private updateDemand(): void {
    const wanted = this.viewers.size > 0 || this.snapshotWaiters > 0
    if (wanted === this.wantedNow) return
    this.wantedNow = wanted
    this.wantedSinceMs = wanted ? this.now() : Infinity
    for (const listener of this.demandListeners) listener(wanted)
  }
}

function partHead(frame: EncodedFrame): Buffer {
  return Buffer.from(
    `--${MJPEG_BOUNDARY}\r\n` +
      'Content-Type: image/jpeg\r\n' +
      `Content-Length: ${frame.jpeg.byteLength}\r\n` +
      `X-Frame-Seq: ${frame.meta.seq}\r\n` +
      `X-Capture-Ts: ${frame.meta.captureTsNs}\r\n` +
      '\r\n',
  )
}
