// heart on an MQTT broker: events out (motion, detections, thermal), state
// out (availability, health, the AI-lock) and the AI-lock command in.
// Everything runs on the main thread's event loop and nothing here ever
// waits for the broker: publishing hands a packet to the socket and returns,
// a bounded queue holds what cannot go yet (the oldest is dropped past
// maxQueued, counted), and the client reconnects with backoff on its own.
import { hostname } from 'node:os'
import { connect, type IClientOptions, type MqttClient } from 'mqtt'
import type { EventHandler, HealthStatus, KernelEvent, Logger } from '@heart/kernel'
import type { DetectionEventPayload, MotionEventPayload } from '@heart/vision'
import type { ThermalFrameEvent } from '@heart/thermal'
import type { FrameRing } from '@heart/ring'
import { thermalRingSource, type ThermalRingSource } from '@heart/stream'
import { redactBrokerUrl, type MqttConfig } from './config.js'
import { discoveryMessages } from './discovery.js'
import { AI_LOCK_DOWN, AI_LOCK_UP, OFFLINE, ONLINE, mqttTopics, type MqttTopics } from './topics.js'
import { classifyMqttError, type MqttFailure } from './errors.js'
import { MotionRateCap } from './motion-rate.js'

/** Where the bridge subscribes to heart's events (the kernel; an EventQueue in tests). */
export interface EventSubscriber {
  on<P = unknown>(type: string, handler: EventHandler<P>): () => void
}

/** What the health topics are drawn from: /health's status, reasons and camera sections. */
export interface HealthSnapshot {
  status: HealthStatus
  reasons: string[]
  /** The one camera's section (the first camera's with several). */
  camera: object
  /** /health.cameras: each camera's section by name; absent, every camera topic shows `camera`. */
  cameras?: Record<string, object>
}

/** A camera's AI-lock: CaptureService.setAiLock / aiLocked. */
export interface AiLockControl {
  set(locked: boolean): void
  get(): boolean
}

/** A camera the bridge serves: its topics are PREFIX/NAME/... */
export interface MqttCamera {
  name: string
  aiLock: AiLockControl
}

export interface MqttBridgeOptions {
  /** The `mqtt:` section; `url` must be set. */
  config: MqttConfig
  events: EventSubscriber
  /** The report behind /health (read once a second, on the main thread). */
  health: () => HealthSnapshot
  /** Every camera, each with its own topics and AI-lock; wins over `camera` + `aiLock`. */
  cameras?: MqttCamera[]
  /** Which camera an event's source (a service name, `CAMERA.CONSUMER` with several cameras) belongs to: kernel.cameraOfService. */
  cameraOf?: (source: string) => string | null
  /** One camera's AI-lock (without `cameras`). */
  aiLock?: AiLockControl
  /** The one camera's name without `cameras` (default `main`). */
  camera?: string
  logger?: Logger
  /** Where HEART_MQTT_PASSWORD is read (default: process.env). */
  env?: NodeJS.ProcessEnv
  /** heart's version, for Home Assistant's device card. */
  version?: string
  /** The thermal ring, read for the temperatures when mqtt.thermalPixels is on. */
  thermalRing?: FrameRing | null
}

/** The `mqtt` object of /health. */
export interface MqttHealth {
  /** connecting, connected, disconnected (waiting to retry), stopped. */
  state: 'connecting' | 'connected' | 'disconnected' | 'stopped'
  connected: boolean
  /** The broker URL without credentials. */
  broker: string
  /** Messages the socket took. */
  sent: number
  /** Messages lost: the queue was full (broker away or slow) or the connection closed under them. */
  dropped: number
  /** Waiting for the broker now. */
  queued: number
  /** Connection attempts after the first. */
  reconnects: number
  /** The last failure, `CODE: what happened` (never a credential); kept after a reconnect, for the record. */
  last_error: string | null
  /** Commands received on PREFIX/CAMERA/ai_lock/set (accepted ones). */
  commands: number
  /** Motion events not sent because a newer one came within mqtt.motionMinIntervalMs (by design, not a loss). */
  coalesced: number
  /** Events of a camera heart does not know (several cameras, a source no camera owns): not sent. */
  unrouted: number
}

interface CameraLink {
  name: string
  aiLock: AiLockControl
  motion: MotionRateCap
  publishedStatus: string | null
  publishedAiLock: boolean | null
  lastHealthAt: number
}

interface Outgoing {
  topic: string
  payload: string
  qos: 0 | 1 | 2
  retain: boolean
}

// How often state (health status, the AI-lock) is compared with what was last published.
const WATCH_MS = 1000
// A first connection this slow counts as trouble even before any error.
const CONNECT_GRACE_MS = 5000
// The offline message and the DISCONNECT at stop get this long each.
const STOP_STEP_MS = 1000
const LOG_SAME_ERROR_EVERY_MS = 10_000
// Messages handed to the socket and not yet written out: past this the socket is backed up and heart's queue takes over.
const MAX_IN_FLIGHT = 64
// Credentials shorter than this are not searched for in messages (replacing every "ab" would garble them).
const MIN_REDACTED_LENGTH = 3

function nonEmpty(text: string | undefined): string | undefined {
  return text === '' ? undefined : text
}

/** What a change of is published at once: the status and its reasons. */
function statusLine(report: HealthSnapshot): string {
  return `${report.status} ${report.reasons.join('; ')}`
}

/** The kernel's naming without a cameraOf: a consumer of camera NAME is the service `NAME.CONSUMER`. */
function cameraOfServiceName(source: string): string | null {
  const dot = source.indexOf('.')
  return dot > 0 ? source.slice(0, dot) : null
}

/** The cameras to serve: `cameras`, else the one `camera` (default `main`) with `aiLock`. */
function cameraLinks(options: MqttBridgeOptions): MqttCamera[] {
  if (options.cameras !== undefined) {
    if (options.cameras.length === 0) throw new Error('MqttBridge needs at least one camera')
    const names = options.cameras.map((c) => c.name)
    const twice = names.find((name, i) => names.indexOf(name) !== i)
    if (twice !== undefined) throw new Error(`MqttBridge got the camera ${twice} twice`)
    return options.cameras
  }
  if (options.aiLock === undefined) throw new Error('MqttBridge needs cameras, or aiLock for its one camera')
  return [{ name: options.camera ?? 'main', aiLock: options.aiLock }]
}

export class MqttBridge {
  private readonly config: MqttConfig
  private readonly options: MqttBridgeOptions
  private cameras: CameraLink[]
  private camerasByName: Map<string, CameraLink>
  /** PREFIX/CAMERA/ai_lock/set -> its camera. */
  private camerasByCommandTopic: Map<string, CameraLink>
  private readonly topics: MqttTopics
  private readonly log: Logger | undefined
  private readonly broker: string
  private readonly secrets: string[]
  private readonly client: MqttClient
  /** Events waiting for the broker, oldest first. */
  private readonly queue: Outgoing[] = []
  /** State waiting for the broker, by topic: only the newest counts, so a newer one replaces it (not a drop). */
  private readonly latest = new Map<string, Outgoing>()
  private readonly unsubscribe: Array<() => void> = []
  private readonly watchTimer: NodeJS.Timeout
  private readonly startedAt = Date.now()
  private state: MqttHealth['state'] = 'connecting'
  private inFlight = 0
  private sent = 0
  private dropped = 0
  private reconnects = 0
  private commands = 0
  private unrouted = 0
  /** Sources already logged as belonging to no camera: each is logged once. */
  private readonly unroutedSources = new Set<string>()
  private lastError: MqttFailure | null = null
  private lastLogged = new Map<string, number>()
  private retryMs: number
  private retryTimer: NodeJS.Timeout | undefined
  private everConnected = false
  private lastThermalAt = -Infinity
  private stopping: Promise<void> | undefined
  private readonly thermalPixels: ThermalRingSource | null

  private constructor(options: MqttBridgeOptions) {
    const config = options.config
    if (config.url === undefined) throw new Error('MqttBridge needs mqtt.url')
    this.options = options
    this.config = config
    this.topics = mqttTopics(config.prefix)
    this.cameras = cameraLinks(options).map((c) => this.link(c))
    this.camerasByName = new Map(this.cameras.map((c) => [c.name, c]))
    this.camerasByCommandTopic = new Map(this.cameras.map((c) => [this.topics.aiLockSet(c.name), c]))
    this.log = options.logger
    this.retryMs = config.reconnect.initialMs
    this.broker = redactBrokerUrl(config.url)

    const url = new URL(config.url)
    const username = config.username ?? nonEmpty(decodeURIComponent(url.username))
    // An empty HEART_MQTT_PASSWORD (a unit file's `Environment=HEART_MQTT_PASSWORD=`) counts as unset.
    const password = nonEmpty((options.env ?? process.env).HEART_MQTT_PASSWORD) ?? config.password ?? nonEmpty(decodeURIComponent(url.password))
    // The client gets the credentials as options and a URL without them, so nothing it reports can hold them.
    url.username = ''
    url.password = ''
    this.secrets = [username, password, url.username, url.password].filter((s): s is string => s !== undefined && s.length >= MIN_REDACTED_LENGTH)
    const clientOptions: IClientOptions = {
      clientId: config.clientId ?? `heart-${config.prefix}-${hostname()}-${process.pid}`,
      username,
      password,
      keepalive: config.keepaliveS,
      connectTimeout: 5000,
      // heart schedules reconnects itself, with backoff (the client's own period is fixed).
      reconnectPeriod: 0,
      // heart's own bounded queue holds messages while the broker is away; the client's is unbounded.
      queueQoSZero: false,
      will: { topic: this.topics.availability, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    }
    this.client = connect(url.toString(), clientOptions)
    this.client.on('connect', () => this.onConnect())
    this.client.on('close', () => this.onClose())
    this.client.on('error', (error) => this.fail(classifyMqttError(error, this.everConnected)))
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload))

    const events = options.events
    this.unsubscribe.push(
      events.on<MotionEventPayload>('motion', (e) => {
        const camera = this.cameraOfEvent(e)
        camera?.motion.offer({ camera: camera.name, seq: e.payload.seq, capture_ts_ns: e.payload.captureTsNs, boxes: e.payload.boxes })
      }),
      events.on<DetectionEventPayload>('detection', (e) => {
        const camera = this.cameraOfEvent(e)
        if (!camera) return
        this.publishEvent(this.topics.detections(camera.name), {
          camera: camera.name,
          seq: e.payload.seq,
          capture_ts_ns: e.payload.captureTsNs,
          latency_ms: e.payload.latencyMs,
          detections: e.payload.detections,
        })
      }),
      events.on<ThermalFrameEvent>('thermal.frame', (e) => this.onThermal(e.payload)),
    )
    // Its own place on the thermal ring, depth 1: only the newest frame is ever wanted.
    this.thermalPixels = config.thermalPixels && options.thermalRing ? thermalRingSource(options.thermalRing, { name: 'mqtt' }) : null
    this.watchTimer = setInterval(() => this.watch(), WATCH_MS)
    this.watchTimer.unref()
  }

  /** Connects (in the background) and starts publishing; never throws for a broker that is down. */
  static start(options: MqttBridgeOptions): MqttBridge {
    return new MqttBridge(options)
  }

  health(): MqttHealth {
    return {
      state: this.state,
      connected: this.state === 'connected',
      broker: this.broker,
      sent: this.sent,
      dropped: this.dropped,
      queued: this.queue.length + this.latest.size,
      reconnects: this.reconnects,
      last_error: this.lastError ? `${this.lastError.code}: ${this.lastError.message}` : null,
      commands: this.commands,
      coalesced: this.cameras.reduce((sum, c) => sum + c.motion.coalesced, 0),
      unrouted: this.unrouted,
    }
  }

  /** Why /health is not green because of MQTT (yellow: the camera is fine, its messages wait), or null. */
  trouble(): string | null {
    if (this.state === 'connected' || this.state === 'stopped') return null
    if (this.lastError === null && Date.now() - this.startedAt < CONNECT_GRACE_MS) return null
    return `mqtt: not connected to ${this.broker}${this.lastError ? ` (${this.lastError.code})` : ''}; messages are queued, the oldest dropped past ${this.config.maxQueued}`
  }

  /** Publishes `offline` (retained) when connected, then disconnects; bounded, never throws. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.watchTimer)
      clearTimeout(this.retryTimer)
      for (const off of this.unsubscribe) off()
      // The last motion state held back by the rate cap still goes (queued when it cannot).
      for (const camera of this.cameras) camera.motion.flush()
      this.thermalPixels?.close()
      if (this.client.connected) {
        await this.bounded((done) => this.client.publish(this.topics.availability, OFFLINE, { qos: 1, retain: true }, () => done()))
        await this.bounded((done) => this.client.end(false, {}, () => done()))
      }
      this.client.end(true)
      this.state = 'stopped'
    })()
    return this.stopping
  }

  private bounded(start: (done: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, STOP_STEP_MS)
      start(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /**
   * The cameras to serve from now on (a config reload added, removed or
   * restarted some). A kept camera keeps its link (its motion rate cap, what
   * was published) with the new AI-lock control; a new one has its command
   * topic subscribed and its state published; a removed one's retained
   * health and AI-lock are cleared, and its Home Assistant entities removed.
   */
  setCameras(cameras: readonly MqttCamera[]): void {
    if (cameras.length === 0) throw new Error('MqttBridge needs at least one camera')
    const next = cameras.map((c) => {
      const kept = this.camerasByName.get(c.name)
      if (!kept) return this.link(c)
      kept.aiLock = c.aiLock
      return kept
    })
    const removed = this.cameras.filter((c) => !next.includes(c))
    const added = next.filter((c) => !this.cameras.includes(c))
    this.cameras = next
    this.camerasByName = new Map(next.map((c) => [c.name, c]))
    this.camerasByCommandTopic = new Map(next.map((c) => [this.topics.aiLockSet(c.name), c]))
    if (removed.length > 0) {
      if (this.client.connected) this.client.unsubscribe(removed.map((c) => this.topics.aiLockSet(c.name)))
      for (const camera of removed) {
        camera.motion.flush()
        // An empty retained message deletes the retained one (and, on a discovery topic, the Home Assistant entity).
        this.publishState(this.topics.health(camera.name), '')
        this.publishState(this.topics.aiLock(camera.name), '')
        for (const m of this.discovery(camera)) this.publishState(m.topic, '')
      }
    }
    if (added.length > 0 && this.state === 'connected') {
      this.client.subscribe(added.map((c) => this.topics.aiLockSet(c.name)), { qos: 1 }, (error) => {
        if (error) this.fail(classifyMqttError(error, true))
      })
      const report = this.options.health()
      for (const camera of added) {
        for (const m of this.discovery(camera)) this.write({ topic: m.topic, payload: JSON.stringify(m.payload), qos: 1, retain: true })
        this.publishAiLock(camera)
        this.publishHealth(camera, report)
      }
    }
  }

  private link({ name, aiLock }: MqttCamera): CameraLink {
    return {
      name,
      aiLock,
      motion: new MotionRateCap({ minIntervalMs: this.config.motionMinIntervalMs, send: (body) => this.publishEvent(this.topics.motion(name), body) }),
      publishedStatus: null,
      publishedAiLock: null,
      lastHealthAt: 0,
    }
  }

  /** A camera's Home Assistant discovery messages (none unless homeAssistant is on). */
  private discovery(camera: CameraLink): ReturnType<typeof discoveryMessages> {
    if (!this.config.homeAssistant) return []
    return discoveryMessages({ discoveryPrefix: this.config.discoveryPrefix, prefix: this.config.prefix, camera: camera.name, topics: this.topics, version: this.options.version ?? '0.0.0' })
  }

  private onConnect(): void {
    const first = !this.everConnected
    this.everConnected = true
    this.state = 'connected'
    this.retryMs = this.config.reconnect.initialMs
    this.log?.info(first ? 'mqtt connected' : 'mqtt reconnected', { broker: this.broker, reconnects: this.reconnects })
    // A clean session: the subscriptions are made again on every connection.
    this.client.subscribe([...this.camerasByCommandTopic.keys()], { qos: 1 }, (error) => {
      if (error) this.fail(classifyMqttError(error, true))
    })
    // Retained state first: the broker may hold a stale `offline` (the last will) or an old health.
    this.write({ topic: this.topics.availability, payload: ONLINE, qos: 1, retain: true })
    for (const camera of this.cameras) {
      for (const m of this.discovery(camera)) this.write({ topic: m.topic, payload: JSON.stringify(m.payload), qos: 1, retain: true })
    }
    const report = this.options.health()
    for (const camera of this.cameras) {
      this.publishAiLock(camera)
      this.publishHealth(camera, report)
    }
    this.pump()
  }

  private onClose(): void {
    if (this.stopping) return
    if (this.state === 'connected') {
      this.log?.warn('mqtt connection lost; reconnecting with backoff', { broker: this.broker, queued: this.queue.length })
      if (this.lastError === null || this.lastError.code !== 'MQTT_CONNECTION_LOST') this.fail({ code: 'MQTT_CONNECTION_LOST', message: 'the broker closed the connection' }, false)
    }
    this.state = 'disconnected'
    clearTimeout(this.retryTimer)
    const delay = this.retryMs * (0.8 + Math.random() * 0.4)
    this.retryMs = Math.min(this.retryMs * 2, this.config.reconnect.maxMs)
    this.retryTimer = setTimeout(() => {
      if (this.stopping) return
      this.reconnects++
      this.state = 'connecting'
      this.client.reconnect()
    }, delay)
    this.retryTimer.unref()
  }

  private fail(failure: MqttFailure, log = true): void {
    const message = this.redact(failure.message)
    this.lastError = { code: failure.code, message }
    const now = Date.now()
    if (!log || now - (this.lastLogged.get(failure.code) ?? -Infinity) < LOG_SAME_ERROR_EVERY_MS) return
    this.lastLogged.set(failure.code, now)
    this.log?.warn(`mqtt: ${message}`, { code: failure.code, broker: this.broker, retry_in_ms: Math.round(this.retryMs) })
  }

  private redact(text: string): string {
    let out = text
    for (const secret of this.secrets) out = out.split(secret).join('***')
    return out
  }

  /** The camera an event belongs to; null (counted, each source logged once) when heart has several and none owns it. */
  private cameraOfEvent(event: KernelEvent): CameraLink | null {
    const named = (this.options.cameraOf ?? cameraOfServiceName)(event.source)
    const camera = (named === null ? undefined : this.camerasByName.get(named)) ?? (this.cameras.length === 1 ? this.cameras[0]! : null)
    if (camera) return camera
    this.unrouted++
    if (!this.unroutedSources.has(event.source)) {
      this.unroutedSources.add(event.source)
      this.log?.warn(`mqtt: ${event.type} events from ${event.source} belong to no camera (${this.cameras.map((c) => c.name).join(', ')}); not sent`, { source: event.source })
    }
    return null
  }

  private onMessage(topic: string, payload: Buffer): void {
    const camera = this.camerasByCommandTopic.get(topic)
    if (!camera) return
    const command = payload.toString('utf8').trim().toLowerCase()
    if (command !== AI_LOCK_DOWN && command !== AI_LOCK_UP) {
      this.log?.warn(`mqtt: ${topic} takes "${AI_LOCK_DOWN}" or "${AI_LOCK_UP}"; ignoring the message`, { bytes: payload.length })
      return
    }
    this.commands++
    camera.aiLock.set(command === AI_LOCK_DOWN)
    this.log?.info('mqtt: AI-lock command', { camera: camera.name, command })
    this.publishAiLock(camera)
  }

  private onThermal(frame: ThermalFrameEvent): void {
    if (this.config.thermalHz === 0) return
    const now = performance.now()
    if (now - this.lastThermalAt < 1000 / this.config.thermalHz) return
    this.lastThermalAt = now
    const summary = { seq: frame.seq, ts_ns: frame.tsNs, ta: frame.ta, min: frame.min, max: frame.max, mean: frame.mean }
    const pixels = this.thermalPixels?.latest()
    if (pixels?.temperatures) {
      // Hundredths of a degree: the sensor's noise is larger, and the message half the size.
      const temperatures = Array.from(pixels.temperatures, (c) => Math.round(c * 100) / 100)
      this.publishEvent(this.topics.thermal, { ...summary, width: pixels.width, height: pixels.height, temperatures })
      return
    }
    this.publishEvent(this.topics.thermal, summary)
  }

  /** Once a second, per camera: health when its status changed or healthEveryS passed, the AI-lock when HTTP changed it. */
  private watch(): void {
    if (this.state !== 'connected') return
    const report = this.options.health()
    const status = statusLine(report)
    for (const camera of this.cameras) {
      if (camera.publishedAiLock !== camera.aiLock.get()) this.publishAiLock(camera)
      if (status !== camera.publishedStatus || Date.now() - camera.lastHealthAt >= this.config.healthEveryS * 1000) this.publishHealth(camera, report)
    }
  }

  private publishHealth(camera: CameraLink, report: HealthSnapshot): void {
    camera.publishedStatus = statusLine(report)
    camera.lastHealthAt = Date.now()
    // With /health.cameras, each camera's own section; a camera it does not list yet has none.
    const section = report.cameras ? (report.cameras[camera.name] ?? null) : report.camera
    const payload = { camera: camera.name, status: report.status, reasons: report.reasons, at: new Date().toISOString(), health: section }
    this.publishState(this.topics.health(camera.name), JSON.stringify(payload))
  }

  private publishAiLock(camera: CameraLink): void {
    const locked = camera.aiLock.get()
    camera.publishedAiLock = locked
    this.publishState(this.topics.aiLock(camera.name), locked ? AI_LOCK_DOWN : AI_LOCK_UP)
  }

  /** Retained state: only the newest matters, so while it cannot go it replaces the one waiting. */
  private publishState(topic: string, payload: string): void {
    const message: Outgoing = { topic, payload, qos: this.config.qos as 0 | 1 | 2, retain: true }
    if (this.canWrite()) this.write(message)
    else this.latest.set(topic, message)
  }

  private publishEvent(topic: string, body: object): void {
    if (this.stopping) return
    const message: Outgoing = { topic, payload: JSON.stringify(body), qos: this.config.qos as 0 | 1 | 2, retain: false }
    if (this.canWrite() && this.queue.length === 0) {
      this.write(message)
      return
    }
    this.queue.push(message)
    if (this.queue.length > this.config.maxQueued) {
      this.queue.shift()
      this.dropped++
    }
  }

  private canWrite(): boolean {
    return this.state === 'connected' && this.client.connected && this.inFlight < MAX_IN_FLIGHT
  }

  private write(message: Outgoing): void {
    this.inFlight++
    this.client.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain }, (error) => {
      this.inFlight--
      if (error) this.dropped++
      else this.sent++
      this.pump()
    })
  }

  /** Sends what waits, state first, while the socket takes it. */
  private pump(): void {
    while (this.canWrite() && (this.latest.size > 0 || this.queue.length > 0)) {
      const first = this.latest.entries().next()
      if (!first.done) {
        this.latest.delete(first.value[0])
        this.write(first.value[1])
      } else {
        this.write(this.queue.shift()!)
      }
    }
  }
}
