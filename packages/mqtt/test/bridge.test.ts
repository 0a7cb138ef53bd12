// The bridge against a real broker (Debian's mosquitto on a free loopback
// port), read back by a second MQTT client: what heart publishes, what it
// does with the AI-lock command, wrong credentials, and a broker that goes
// away and comes back.
import { EventQueue, parseConfig, type HealthStatus, type Logger } from '@heart/kernel'
import { freeLoopbackPort, waitFor } from '@heart/telemetry/testing'
import t, { type Test } from 'tap'
import { MqttBridge } from '../src/bridge.js'
import { mqttConfigSchema } from '../src/config.js'
import { startMosquitto, watchTopics, type Mosquitto, type TopicWatcher } from '../src/testing/index.js'

interface Harness {
  bridge: MqttBridge
  events: EventQueue
  /** What health() reports; tests change it. */
  state: { status: HealthStatus; reasons: string[]; locked: boolean }
  logs: string[]
}

let clients = 0

function startBridge(t: Test, config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Harness {
  const events = new EventQueue(1024)
  const state = { status: 'green' as HealthStatus, reasons: [] as string[], locked: false }
  const logs: string[] = []
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>): void => void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`)
  const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
  const bridge = MqttBridge.start({
    config: parseConfig(mqttConfigSchema, { clientId: `bridge-test-${process.pid}-${clients++}`, ...config }, 'test'),
    events,
    health: () => ({ status: state.status, reasons: state.reasons, camera: { state: 'streaming', frames_per_s: 15, ai_locked: state.locked } }),
    aiLock: { set: (locked) => (state.locked = locked), get: () => state.locked },
    logger,
    env,
    version: '9.9.9',
  })
  t.teardown(() => bridge.stop())
  return { bridge, events, state, logs }
}

async function broker(t: Test, users?: Record<string, string>): Promise<Mosquitto> {
  const mosquitto = await startMosquitto({ port: await freeLoopbackPort(), ...(users ? { users } : {}) })
  t.teardown(() => mosquitto.dispose())
  return mosquitto
}

async function watcher(t: Test, url: string, auth: { username?: string; password?: string } = {}): Promise<TopicWatcher> {
  const w = await watchTopics(url, ['heart/#', 'homeassistant/#'], auth)
  t.teardown(() => w.close())
  return w
}

const connected = (h: Harness): Promise<void> => waitFor(() => h.bridge.health().connected, 'the bridge connected', () => h.bridge.health(), 10_000)

t.test('availability, events, retained health and the AI-lock command through mosquitto', async (t) => {
  const mosquitto = await broker(t)
  const watch = await watcher(t, mosquitto.url)
  const online = watch.next('heart/availability', (m) => m.payload === 'online')
  const h = startBridge(t, { url: mosquitto.url, homeAssistant: true, healthEveryS: 1 })
  t.equal((await online).payload, 'online', 'online once connected')
  await connected(h)

  // Events, as the motion and detection workers emit them.
  const motion = watch.next('heart/main/motion')
  h.events.push('motion', { seq: '42', captureTsNs: '123456789', boxes: [{ x: 1, y: 2, w: 30, h: 40 }] })
  const detections = watch.next('heart/main/detections')
  h.events.push('detection', { seq: '43', captureTsNs: '123456790', latencyMs: 12.5, detections: [{ label: 'person', confidence: 0.9, box: { x: 5, y: 6, w: 7, h: 8 } }] })
  h.events.drain()
  t.same(JSON.parse((await motion).payload), { camera: 'main', seq: '42', capture_ts_ns: '123456789', boxes: [{ x: 1, y: 2, w: 30, h: 40 }] }, 'motion: camera, seq, capture_ts_ns, boxes')
  t.same(JSON.parse((await detections).payload), { camera: 'main', seq: '43', capture_ts_ns: '123456790', latency_ms: 12.5, detections: [{ label: 'person', confidence: 0.9, box: { x: 5, y: 6, w: 7, h: 8 } }] }, 'detections')

  // Thermal: ten frames in a burst give one message (thermalHz 1).
  const thermalBefore = watch.on('heart/thermal').length
  const nextThermal = watch.next('heart/thermal')
  for (let seq = 0; seq < 10; seq++) h.events.push('thermal.frame', { seq, tsNs: String(seq), ta: 30, min: 20, max: 36, mean: 24 })
  h.events.drain()
  const thermal = await nextThermal
  await new Promise((r) => setTimeout(r, 300))
  t.equal(watch.on('heart/thermal').length - thermalBefore, 1, 'a burst of thermal frames is one message at thermalHz 1')
  t.same(JSON.parse(thermal.payload), { seq: 0, ts_ns: '0', ta: 30, min: 20, max: 36, mean: 24 }, 'the thermal summary: min, max, mean, ta (no pixels)')

  // Health: on a status change, and retained for a subscriber that comes later.
  h.state.status = 'yellow'
  h.state.reasons = ['camera recovering']
  const changed = await watch.next('heart/main/health', (m) => (JSON.parse(m.payload) as { status: string }).status === 'yellow', 3000)
  t.match(JSON.parse(changed.payload), { camera: 'main', status: 'yellow', reasons: ['camera recovering'], health: { state: 'streaming', frames_per_s: 15 } }, 'health on a change of status')
  const late = await watchTopics(mosquitto.url, ['heart/main/health', 'heart/main/ai_lock', 'heart/availability', 'homeassistant/#'])
  t.teardown(() => late.close())
  await waitFor(() => late.on('heart/main/health').length > 0 && late.on('heart/availability').length > 0, 'retained messages for a late subscriber', undefined, 5000)
  t.ok(late.last('heart/main/health')!.retain, 'health is retained')
  t.equal(late.last('heart/availability')!.payload, 'online', 'availability is retained online')
  t.equal(late.last('heart/main/ai_lock')?.payload, 'up', 'the AI-lock state is retained: up')

  // Home Assistant discovery: four retained configs naming heart's topics.
  const discovery = late.messages.filter((m) => m.topic.startsWith('homeassistant/'))
  t.same(discovery.map((m) => m.topic).sort(), [
    'homeassistant/binary_sensor/heart/main_motion/config',
    'homeassistant/sensor/heart/main_fps/config',
    'homeassistant/sensor/heart/main_health/config',
    'homeassistant/switch/heart/main_ai_lock/config',
  ], 'discovery configs for motion, health, fps and the AI-lock switch')
  t.ok(discovery.every((m) => m.retain), 'discovery configs are retained')
  const lockSwitch = JSON.parse(discovery.find((m) => m.topic.includes('/switch/'))!.payload) as Record<string, unknown>
  t.match(lockSwitch, { command_topic: 'heart/main/ai_lock/set', state_topic: 'heart/main/ai_lock', payload_on: 'down', payload_off: 'up', availability_topic: 'heart/availability', device: { sw_version: '9.9.9' } }, 'the switch commands and reads the AI-lock topics')

  // The command: down locks, up unlocks, each echoed retained; nonsense is ignored.
  const echoedDown = watch.next('heart/main/ai_lock', (m) => m.payload === 'down')
  await watch.client.publishAsync('heart/main/ai_lock/set', 'down')
  await echoedDown
  t.equal(h.state.locked, true, 'down sets the AI-lock')
  await watch.client.publishAsync('heart/main/ai_lock/set', 'sideways')
  const echoedUp = watch.next('heart/main/ai_lock', (m) => m.payload === 'up')
  await watch.client.publishAsync('heart/main/ai_lock/set', 'up')
  await echoedUp
  t.equal(h.state.locked, false, 'up clears it')
  t.equal(h.bridge.health().commands, 2, 'two commands accepted, the nonsense one not')
  t.ok(h.logs.some((l) => l.startsWith('warn') && l.includes('ai_lock/set takes')), 'the nonsense command is logged')
  // A change made elsewhere (POST /camera/down) is echoed too.
  const echoedHttp = watch.next('heart/main/ai_lock', (m) => m.payload === 'down', 3000)
  h.state.locked = true
  await echoedHttp
  t.pass('an AI-lock set over HTTP is echoed within a second')

  // A clean stop says offline, retained.
  const offline = watch.next('heart/availability', (m) => m.payload === 'offline')
  await h.bridge.stop()
  await offline
  t.match(h.bridge.health(), { state: 'stopped', dropped: 0 }, 'stopped, nothing dropped')
  t.ok(h.bridge.health().sent >= 10, `counted sent messages (${h.bridge.health().sent})`)
})

t.test('credentials: the right password connects (from the URL or HEART_MQTT_PASSWORD), a wrong one is named without the password', async (t) => {
  const PASSWORD = 'S3cr3t-broker pass'
  const mosquitto = await broker(t, { heartbox: PASSWORD })
  const watch = await watcher(t, mosquitto.url, { username: 'heartbox', password: PASSWORD })

  // An empty HEART_MQTT_PASSWORD counts as unset: the URL's password is used.
  const fromUrl = startBridge(t, { url: `mqtt://heartbox:${encodeURIComponent(PASSWORD)}@127.0.0.1:${mosquitto.port}` }, { HEART_MQTT_PASSWORD: '' })
  await connected(fromUrl)
  t.equal(fromUrl.bridge.health().broker, `mqtt://***@127.0.0.1:${mosquitto.port}`, 'health names the broker without credentials')
  await fromUrl.bridge.stop()

  const fromEnv = startBridge(t, { url: mosquitto.url, username: 'heartbox', password: 'overridden' }, { HEART_MQTT_PASSWORD: PASSWORD })
  await connected(fromEnv)
  t.pass('HEART_MQTT_PASSWORD wins over mqtt.password')
  await fromEnv.bridge.stop()

  const WRONG = 'Wr0ng-broker pass'
  const wrong = startBridge(t, { url: mosquitto.url, username: 'heartbox', password: WRONG, reconnect: { initialMs: 200, maxMs: 400 } })
  await waitFor(() => wrong.bridge.health().last_error !== null, 'a named error', undefined, 10_000)
  const health = wrong.bridge.health()
  t.match(health, { connected: false, last_error: /^MQTT_AUTH_REFUSED: the broker refused/ }, 'health names MQTT_AUTH_REFUSED')
  await waitFor(() => wrong.bridge.health().reconnects >= 2, 'retries with backoff', undefined, 10_000)
  t.match(wrong.bridge.trouble(), /mqtt: not connected .*MQTT_AUTH_REFUSED/, 'trouble() says why (yellow in /health)')
  const logged = wrong.logs.join('\n')
  t.match(logged, /MQTT_AUTH_REFUSED/, 'the log names it')
  for (const [what, text] of [['health', JSON.stringify(wrong.bridge.health())], ['log', logged], ['trouble', wrong.bridge.trouble() ?? '']] as const) {
    t.notOk(text.includes(WRONG) || text.includes(encodeURIComponent(WRONG)) || text.includes('Wr0ng'), `${what}: no password`)
  }
  t.equal(watch.on('heart/availability').filter((m) => m.payload === 'online').length, 2, 'only the two right logins said online')
})

t.test('the broker away: events queue up to maxQueued, the oldest dropped and counted; reconnect and send after it returns', async (t) => {
  const mosquitto = await broker(t)
  const h = startBridge(t, { url: mosquitto.url, maxQueued: 50, reconnect: { initialMs: 200, maxMs: 1000 } })
  await connected(h)
  await mosquitto.stop()
  await waitFor(() => !h.bridge.health().connected, 'the bridge noticed', undefined, 10_000)
  t.match(h.bridge.health(), { state: /disconnected|connecting/, last_error: /^MQTT_(CONNECTION_LOST|UNREACHABLE)/ }, 'named as lost')

  // 80 events while away: the queue holds 50, the 30 oldest go.
  const start = performance.now()
  for (let i = 0; i < 80; i++) h.events.push('motion', { seq: String(i), captureTsNs: String(i), boxes: [] })
  h.events.drain()
  t.ok(performance.now() - start < 100, 'publishing never waits for the broker')
  t.match(h.bridge.health(), { dropped: 30 }, '30 dropped, counted')
  t.ok(h.bridge.health().queued >= 50, `the rest wait (${h.bridge.health().queued})`)

  const reconnectsBefore = h.bridge.health().reconnects
  const sentBefore = h.bridge.health().sent
  await mosquitto.start()
  const watch = await watcher(t, mosquitto.url)
  await connected(h)
  await waitFor(() => h.bridge.health().sent >= sentBefore + 50, 'the 50 queued events sent', () => h.bridge.health(), 5000)
  t.ok(h.bridge.health().reconnects > reconnectsBefore || reconnectsBefore > 0, `reconnected after ${h.bridge.health().reconnects} attempts`)
  const fresh = watch.next('heart/main/motion', (m) => (JSON.parse(m.payload) as { seq: string }).seq === 'fresh')
  h.events.push('motion', { seq: 'fresh', captureTsNs: '1', boxes: [] })
  h.events.drain()
  await fresh
  t.equal(h.bridge.health().queued, 0, 'the queue emptied after the reconnect')
  t.equal(h.bridge.trouble(), null, 'connected again: no trouble')
})

t.test('a broker too slow to read: the socket backs up, the queue stops at maxQueued, the rest is dropped and counted; it catches up after', async (t) => {
  const mosquitto = await broker(t)
  const watch = await watcher(t, mosquitto.url)
  const h = startBridge(t, { url: mosquitto.url, maxQueued: 50 })
  await connected(h)
  // online, the AI-lock state and health go first on connecting.
  await waitFor(() => h.bridge.health().sent === 3, 'the connection state sent', () => h.bridge.health(), 5000)
  mosquitto.pause()
  t.teardown(() => mosquitto.resume())
  // 40 MB of events: far more than the loopback socket's buffers hold, so writes stop completing.
  const boxes = Array.from({ length: 400 }, (_, i) => ({ x: i, y: i, w: 10, h: 10 }))
  const start = performance.now()
  for (let batch = 0; batch < 20; batch++) {
    for (let i = 0; i < 100; i++) h.events.push('motion', { seq: String(batch * 100 + i), captureTsNs: '1', boxes })
    h.events.drain()
  }
  const spentMs = performance.now() - start
  t.ok(spentMs < 2000, `2000 events handed over in ${Math.round(spentMs)} ms: publishing does not wait for the broker`)
  await waitFor(() => h.bridge.health().dropped > 0, 'drops counted while the broker is stuck', () => h.bridge.health(), 5000)
  const stuck = h.bridge.health()
  t.ok(stuck.queued <= 50, `at most maxQueued wait (${stuck.queued})`)
  t.equal(stuck.connected, true, 'still connected: slow is not gone')

  mosquitto.resume()
  const last = watch.next('heart/main/motion', (m) => (JSON.parse(m.payload) as { seq: string }).seq === '1999', 20_000)
  await last
  t.pass('the newest event arrives once the broker reads again (the oldest were the ones dropped)')
  await waitFor(() => h.bridge.health().queued === 0, 'the queue emptied', () => h.bridge.health(), 10_000)
  const after = h.bridge.health()
  t.equal(after.sent - 3 + after.dropped, 2000, `every event was either sent or dropped (${after.sent - 3} sent, ${after.dropped} dropped)`)
})
