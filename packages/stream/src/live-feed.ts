// LiveFeed: the metadata that goes alongside the video, as Server-Sent Events
// on GET /events. It keeps the latest value of each kind (frame, motion,
// detection, thermal) and fans changes out to every open event stream.
//
// Like the MJPEG hub, it never queues without bound: a client whose socket has
// not drained misses events, and on 'drain' it is sent the latest value of
// every kind, which is all the live view needs to be current again.

import type {
  DetectionPayload,
  EncodedFrame,
  FrameMetaJson,
  MotionPayload,
  ThermalPayload,
  ThermalView,
} from './types.js'

/** SSE event names the live view listens to. */
export type FeedKind = 'frame' | 'motion' | 'detection' | 'thermal'

const KINDS: readonly FeedKind[] = ['frame', 'motion', 'detection', 'thermal']

/** How many recent frames' motion / detection results are kept for matching by seq. */
const RECENT_BY_SEQ = 256

/** SSE comment sent on idle connections so proxies and browsers keep them open. */
const KEEPALIVE_MS = 15_000

export interface FeedSink {
  write(chunk: string): boolean
  once(event: 'drain' | 'close' | 'error', listener: (...args: unknown[]) => void): unknown
  removeListener(event: 'drain' | 'close' | 'error', listener: (...args: unknown[]) => void): unknown
  end(): unknown
  readonly destroyed: boolean
}

export interface LiveFeedOptions {
  /**
   * Where to get the temperatures when a `thermal.frame` event carries none
   * (e.g. the thermal package's latest-frame accessor).
   */
  thermalLatest?: () => ThermalPayload | null
}

interface Client {
  sink: FeedSink
  waitingForDrain: boolean
  missed: number
  onDrain: () => void
  onGone: () => void
}

export class LiveFeed {
  private readonly latestByKind = new Map<FeedKind, string>()
  private readonly latestJson = new Map<FeedKind, unknown>()
  private readonly clients = new Set<Client>()
  private readonly motionBySeq = new Map<string, MotionPayload>()
  private readonly detectionBySeq = new Map<string, DetectionPayload>()
  private keepalive: NodeJS.Timeout | null = null
  private readonly thermalLatest: (() => ThermalPayload | null) | undefined

  constructor(opts: LiveFeedOptions = {}) {
    this.thermalLatest = opts.thermalLatest
  }

  /**
   * Feeds one kernel event in. Knows `motion`, `detection` and `thermal.frame`
   * (contract payloads); returns false and ignores anything else, so the CLI
   * can hand it every event it drains.
   */
  publish(type: string, payload: unknown): boolean {
    switch (type) {
      case 'motion': {
        const motion = normaliseMotion(payload as MotionPayload)
        remember(this.motionBySeq, String(motion.seq), motion)
        return this.set('motion', motion)
      }
      case 'detection': {
        const detection = normaliseDetection(payload as DetectionPayload)
        remember(this.detectionBySeq, String(detection.seq), detection)
        return this.set('detection', detection)
      }
      case 'thermal.frame':
        return this.set('thermal', this.thermalView(payload as ThermalPayload))
      default:
        return false
    }
  }

  /** Announces an encoded frame (wire it to MjpegHub.onPublish). */
  publishFrame(frame: EncodedFrame): void {
    this.set('frame', frameMetaJson(frame))
  }

  /** Latest value of each kind, as sent over SSE (for /frames/latest.json). */
  snapshot(): Record<FeedKind, unknown> {
    return {
      frame: this.latestJson.get('frame') ?? null,
      motion: this.latestJson.get('motion') ?? null,
      detection: this.latestJson.get('detection') ?? null,
      thermal: this.latestJson.get('thermal') ?? null,
    }
  }

  /**
   * The motion and detection results computed on the frame with this seq, if
   * they arrived (the last 256 frames are remembered). Workers run at their own
   * rates, so a given frame may have either, both or neither.
   */
  resultsFor(seq: bigint | string): { motion: MotionPayload | null; detection: DetectionPayload | null } {
    const key = String(seq)
    return { motion: this.motionBySeq.get(key) ?? null, detection: this.detectionBySeq.get(key) ?? null }
  }

  clientCount(): number {
    return this.clients.size
  }

  /** Starts an event stream on `sink` (the caller wrote the text/event-stream head). */
  addClient(sink: FeedSink): () => void {
    const client: Client = {
      sink,
      waitingForDrain: false,
      missed: 0,
      onDrain: () => {
        client.waitingForDrain = false
        if (client.missed > 0 && this.clients.has(client)) {
          client.missed = 0
          this.sendLatest(client)
        }
      },
      onGone: () => this.remove(client),
    }
    this.clients.add(client)
    sink.once('close', client.onGone)
    sink.once('error', client.onGone)
    // Tell the browser how soon to reconnect, then bring it up to date.
    this.write(client, 'retry: 1000\n\n')
    this.sendLatest(client)
    this.ensureKeepalive()
    return () => this.remove(client)
  }

  close(): void {
    for (const client of [...this.clients]) {
      this.remove(client)
      if (!client.sink.destroyed) client.sink.end()
    }
  }

  private thermalView(payload: ThermalPayload): ThermalView {
    let source: ThermalPayload = payload
    if (!payload.temperatures && this.thermalLatest) {
      const latest = this.thermalLatest()
      if (latest?.temperatures) source = { ...payload, ...latest, seq: payload.seq ?? latest.seq }
    }
    const width = source.width ?? 32
    const height = source.height ?? 24
    const raw = source.temperatures
    const temperatures: number[] = []
    let lo = Infinity
    let hi = -Infinity
    if (raw && raw.length === width * height) {
      for (let i = 0; i < raw.length; i++) {
        const v = raw[i]!
        if (v < lo) lo = v
        if (v > hi) hi = v
        temperatures.push(Math.round(v * 10) / 10)
      }
    }
    const min = source.min ?? (temperatures.length > 0 ? lo : undefined)
    const max = source.max ?? (temperatures.length > 0 ? hi : undefined)
    return {
      seq: String(source.seq),
      tsNs: source.tsNs ?? null,
      ta: source.ta,
      min: min ?? source.ta,
      max: max ?? source.ta,
      width,
      height,
      temperatures,
    }
  }

  private set(kind: FeedKind, value: unknown): true {
    const message = `event: ${kind}\ndata: ${JSON.stringify(value)}\n\n`
    this.latestByKind.set(kind, message)
    this.latestJson.set(kind, value)
    for (const client of this.clients) {
      if (client.waitingForDrain) client.missed++
      else this.write(client, message)
    }
    return true
  }

  private sendLatest(client: Client): void {
    for (const kind of KINDS) {
      const message = this.latestByKind.get(kind)
      if (message && !client.waitingForDrain) this.write(client, message)
    }
  }

  private write(client: Client, text: string): void {
    if (client.sink.destroyed) return
    if (!client.sink.write(text)) {
      client.waitingForDrain = true
      client.sink.once('drain', client.onDrain)
    }
  }

  private ensureKeepalive(): void {
    if (this.keepalive) return
    this.keepalive = setInterval(() => {
      for (const client of this.clients) if (!client.waitingForDrain) this.write(client, ': keepalive\n\n')
    }, KEEPALIVE_MS)
    this.keepalive.unref()
  }

  private remove(client: Client): void {
    if (!this.clients.delete(client)) return
    client.sink.removeListener('drain', client.onDrain)
    client.sink.removeListener('close', client.onGone)
    client.sink.removeListener('error', client.onGone)
    if (this.clients.size === 0 && this.keepalive) {
      clearInterval(this.keepalive)
      this.keepalive = null
    }
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  map.set(key, value)
  // Maps iterate in insertion order: the first key is the oldest.
  if (map.size > RECENT_BY_SEQ) map.delete(map.keys().next().value!)
}

export function frameMetaJson(frame: EncodedFrame): FrameMetaJson {
  const m = frame.meta
  return {
    seq: m.seq.toString(),
    captureTsNs: m.captureTsNs.toString(),
    encodedTsNs: m.encodedTsNs.toString(),
    srcWidth: m.srcWidth,
    srcHeight: m.srcHeight,
    width: m.width,
    height: m.height,
    encodeUs: m.encodeUs,
    flags: m.flags,
    bytes: frame.jpeg.byteLength,
  }
}

function normaliseMotion(p: MotionPayload): MotionPayload {
  return {
    seq: String(p.seq),
    ...(p.captureTsNs !== undefined ? { captureTsNs: String(p.captureTsNs) } : {}),
    boxes: Array.isArray(p.boxes) ? p.boxes.map(box) : [],
    ...(p.frameWidth ? { frameWidth: p.frameWidth } : {}),
    ...(p.frameHeight ? { frameHeight: p.frameHeight } : {}),
  }
}

function normaliseDetection(p: DetectionPayload): DetectionPayload {
  return {
    seq: String(p.seq),
    ...(p.captureTsNs !== undefined ? { captureTsNs: String(p.captureTsNs) } : {}),
    ...(p.latencyMs !== undefined ? { latencyMs: p.latencyMs } : {}),
    detections: Array.isArray(p.detections)
      ? p.detections.map((d) => ({ label: String(d.label), confidence: Number(d.confidence), box: box(d.box) }))
      : [],
    ...(p.frameWidth ? { frameWidth: p.frameWidth } : {}),
    ...(p.frameHeight ? { frameHeight: p.frameHeight } : {}),
  }
}

function box(b: { x: number; y: number; w: number; h: number }): { x: number; y: number; w: number; h: number } {
  return { x: Number(b.x), y: Number(b.y), w: Number(b.w), h: Number(b.h) }
}
