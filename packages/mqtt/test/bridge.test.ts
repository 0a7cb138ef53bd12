// The bridge against a real broker (Debian's mosquitto on a free loopback
// port), read back by a second MQTT client: what heart publishes, what it
// does with the AI-lock command, wrong credentials, and a broker that goes
// away and comes back.
import { EventQueue, parseConfig, type HealthStatus, type Logger } from '@heart/kernel'
import { freeLoopbackPort, waitFor } from '@heart/telemetry/testing'
import t, { type Test } from 'tap'
import { MqttBridge } from '../src/bridge.js'
import { mqttConfigSchema, type MqttConfig } from '../src/config.js'
import { startMosquitto, watchTopics, type Mosquitto, type TopicWatcher } from '../src/testing/index.js'

interface Harness {
  bridge: MqttBridge
  events: EventQueue
  /** What health() reports; tests change it. */
  state: { status: HealthStatus; reasons: string[]; locked: boolean }
  logs: string[]
}

let clients = 0

function recordingLogger(logs: string[]): Logger {
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>): void => void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`)
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
}

function bridgeConfig(config: Record<string, unknown>): MqttConfig {
  return parseConfig(mqttConfigSchema, { clientId: `bridge-test-${process.pid}-${clients++}`, ...config }, 'test')
}

function startBridge(t: Test, config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Harness {
  const events = new EventQueue(1024)
  const state = { status: 'green' as HealthStatus, reasons: [] as string[], locked: false }
  const logs: string[] = []
  const logger = recordingLogger(logs)
  const bridge = MqttBridge.start({
    config: bridgeConfig(config),
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
  // motionMinIntervalMs 0: every event counts here, none is coalesced by the rate cap.
  const h = startBridge(t, { url: mosquitto.url, maxQueued: 50, reconnect: { initialMs: 200, maxMs: 1000 }, motionMinIntervalMs: 0 })
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
  // motionMinIntervalMs 0: every event counts here, none is coalesced by the rate cap.
  const h = startBridge(t, { url: mosquitto.url, maxQueued: 50, motionMinIntervalMs: 0 })
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

interface CamerasHarness {
  bridge: MqttBridge
  events: EventQueue
  /** Each camera's AI-lock, by name. */
  locked: Record<string, boolean>
  logs: string[]
}

/** A bridge for several cameras, its events' sources named as the kernel names them (CAMERA.CONSUMER). */
function startCameras(t: Test, names: string[], config: Record<string, unknown>): CamerasHarness {
  const events = new EventQueue(4096)
  const locked: Record<string, boolean> = Object.fromEntries(names.map((name) => [name, false]))
  const logs: string[] = []
  const bridge = MqttBridge.start({
    config: bridgeConfig(config),
    events,
    // Each camera's section differs (frames_per_s 10, 20, ...) so a test can tell whose section a topic carries.
    health: () => ({
      status: 'green',
      reasons: [],
      camera: { state: 'streaming', frames_per_s: 10, ai_locked: locked[names[0]!] },
      cameras: Object.fromEntries(names.map((name, i) => [name, { state: 'streaming', frames_per_s: 10 * (i + 1), ai_locked: locked[name] }])),
    }),
    cameras: names.map((name) => ({ name, aiLock: { set: (down: boolean) => (locked[name] = down), get: () => locked[name]! } })),
    // kernel.cameraOfService: a consumer of camera NAME is the service NAME.CONSUMER; anything else has no camera.
    cameraOf: (source) => {
      const camera = source.split('.')[0]!
      return source.includes('.') && names.includes(camera) ? camera : null
    },
    logger: recordingLogger(logs),
    version: '9.9.9',
  })
  t.teardown(() => bridge.stop())
  return { bridge, events, locked, logs }
}

const motionOf = (seq: string, boxes: unknown[] = [{ x: 1, y: 1, w: 5, h: 5 }]): { seq: string; captureTsNs: string; boxes: unknown[] } => ({ seq, captureTsNs: seq.replace(/\D/g, '') || '0', boxes })
const seqOf = (m: { payload: string }): string => (JSON.parse(m.payload) as { seq: string }).seq

t.test('two cameras: events on their own camera\'s topics, per-camera health, AI-lock and discovery, one availability', async (t) => {
  const mosquitto = await broker(t)
  const watch = await watcher(t, mosquitto.url)
  const h = startCameras(t, ['front', 'rear'], { url: mosquitto.url, homeAssistant: true, healthEveryS: 1, motionMinIntervalMs: 0 })
  await waitFor(() => h.bridge.health().connected, 'the bridge connected', () => h.bridge.health(), 10_000)

  const frontMotion = watch.next('heart/front/motion')
  const rearMotion = watch.next('heart/rear/motion')
  const rearDetections = watch.next('heart/rear/detections')
  h.events.push('motion', motionOf('11'), 'front.movement_detector')
  h.events.push('motion', motionOf('22'), 'rear.movement_detector')
  h.events.push('detection', { seq: '23', captureTsNs: '23', latencyMs: 9, detections: [] }, 'rear.detection_client')
  h.events.drain()
  t.match(JSON.parse((await frontMotion).payload), { camera: 'front', seq: '11' }, 'front.movement_detector lands on heart/front/motion as front')
  t.match(JSON.parse((await rearMotion).payload), { camera: 'rear', seq: '22' }, 'rear.movement_detector lands on heart/rear/motion as rear')
  t.match(JSON.parse((await rearDetections).payload), { camera: 'rear', seq: '23', latency_ms: 9 }, 'rear.detection_client lands on heart/rear/detections')

  // Events no camera owns: not sent anywhere, counted, logged once per source.
  for (let i = 0; i < 3; i++) h.events.push('motion', motionOf(`9${i}`), 'kernel')
  h.events.drain()
  const afterUnrouted = watch.next('heart/front/motion', (m) => seqOf(m) === '12')
  h.events.push('motion', motionOf('12'), 'front.movement_detector')
  h.events.drain()
  await afterUnrouted
  t.equal(h.bridge.health().unrouted, 3, 'three events without a camera counted')
  t.equal(h.logs.filter((l) => l.includes('belong to no camera')).length, 1, 'logged once')
  t.same(watch.messages.filter((m) => m.topic.endsWith('/motion')).map((m) => `${m.topic} ${seqOf(m)}`), ['heart/front/motion 11', 'heart/rear/motion 22', 'heart/front/motion 12'], 'the unowned events went to no topic')

  // Retained state per camera, for a subscriber that comes later.
  const late = await watchTopics(mosquitto.url, ['heart/#', 'homeassistant/#'])
  t.teardown(() => late.close())
  await waitFor(() => ['front', 'rear'].every((c) => late.last(`heart/${c}/health`) && late.last(`heart/${c}/ai_lock`)), 'retained health and AI-lock of both cameras', undefined, 5000)
  for (const [camera, fps] of [['front', 10], ['rear', 20]] as const) {
    const health = late.last(`heart/${camera}/health`)!
    t.ok(health.retain, `${camera}: health is retained`)
    t.match(JSON.parse(health.payload), { camera, status: 'green', health: { state: 'streaming', frames_per_s: fps } }, `${camera}: its own section of /health.cameras`)
    t.equal(late.last(`heart/${camera}/ai_lock`)!.payload, 'up', `${camera}: the AI-lock is retained up`)
  }
  t.same([...new Set(late.messages.filter((m) => m.topic.endsWith('availability')).map((m) => m.topic))], ['heart/availability'], 'one availability topic for the box')

  // Discovery: a device per camera with its four entities.
  const discovery = late.messages.filter((m) => m.topic.startsWith('homeassistant/'))
  const entities = ['binary_sensor/heart/CAMERA_motion', 'sensor/heart/CAMERA_fps', 'sensor/heart/CAMERA_health', 'switch/heart/CAMERA_ai_lock']
  const expected = ['front', 'rear'].flatMap((camera) => entities.map((e) => `homeassistant/${e.replace('CAMERA', camera)}/config`))
  t.same(discovery.map((m) => m.topic).sort(), expected.sort(), 'discovery configs for each camera: motion, fps, health, the AI-lock switch')
  const rearSwitch = JSON.parse(discovery.find((m) => m.topic === 'homeassistant/switch/heart/rear_ai_lock/config')!.payload) as Record<string, unknown>
  t.match(rearSwitch, { command_topic: 'heart/rear/ai_lock/set', state_topic: 'heart/rear/ai_lock', device: { identifiers: ['heart_rear'] } }, 'the rear switch commands rear and is rear\'s device')
  const frontMotionConfig = JSON.parse(discovery.find((m) => m.topic === 'homeassistant/binary_sensor/heart/front_motion/config')!.payload) as Record<string, unknown>
  t.match(frontMotionConfig, { state_topic: 'heart/front/motion', device: { identifiers: ['heart_front'] } }, 'the front motion sensor reads front\'s topic on front\'s device')

  // The command reaches only its camera.
  const rearDown = watch.next('heart/rear/ai_lock', (m) => m.payload === 'down')
  await watch.client.publishAsync('heart/rear/ai_lock/set', 'down')
  await rearDown
  t.same(h.locked, { front: false, rear: true }, 'heart/rear/ai_lock/set down locks rear only')
  await new Promise((r) => setTimeout(r, 1500))
  t.notOk(watch.on('heart/front/ai_lock').some((m) => m.payload === 'down'), 'front\'s AI-lock topic never said down')
  // A change made over HTTP on front is echoed on front's topic.
  const frontDown = watch.next('heart/front/ai_lock', (m) => m.payload === 'down', 3000)
  h.locked.front = true
  await frontDown
  t.pass('front\'s AI-lock set elsewhere is echoed on heart/front/ai_lock')
  t.equal(h.bridge.health().commands, 1, 'one command accepted')
})

t.test('setCameras (a config reload): a new camera is published and commanded, a removed one\'s retained state and discovery are cleared, the connection stays', async (t) => {
  const mosquitto = await broker(t)
  const watch = await watcher(t, mosquitto.url)
  const names = ['front', 'rear']
  const h = startCameras(t, names, { url: mosquitto.url, homeAssistant: true, healthEveryS: 60, motionMinIntervalMs: 0 })
  await waitFor(() => h.bridge.health().connected, 'the bridge connected', () => h.bridge.health(), 10_000)
  await waitFor(() => watch.last('heart/rear/health') !== undefined && watch.last('homeassistant/switch/heart/rear_ai_lock/config') !== undefined, 'rear published', undefined, 5000)

  // The harness's health() and cameraOf read `names`: the reload's new camera list.
  names.splice(0, names.length, 'front', 'side')
  h.locked.side = false
  h.bridge.setCameras(names.map((name) => ({ name, aiLock: { set: (down: boolean) => (h.locked[name] = down), get: () => h.locked[name]! } })))
  await waitFor(() => watch.last('heart/side/health') !== undefined && watch.last('homeassistant/switch/heart/side_ai_lock/config') !== undefined, 'side published', () => watch.messages.map((m) => m.topic), 5000)
  t.match(JSON.parse(watch.last('heart/side/health')!.payload), { camera: 'side', health: { frames_per_s: 20 } }, 'the new camera\'s health, from its own section')
  await waitFor(() => watch.last('heart/rear/health')?.payload === '' && watch.last('homeassistant/switch/heart/rear_ai_lock/config')?.payload === '', 'rear cleared', () => watch.messages.slice(-10), 5000)

  const late = await watchTopics(mosquitto.url, ['heart/#', 'homeassistant/#'])
  t.teardown(() => late.close())
  await waitFor(() => late.last('heart/side/ai_lock') !== undefined && late.last('heart/front/health') !== undefined, 'retained state for a late subscriber', undefined, 5000)
  await new Promise((r) => setTimeout(r, 300))
  t.same(late.messages.filter((m) => m.topic.includes('rear')).map((m) => m.topic), [], 'nothing of the removed camera stays retained (health, AI-lock, discovery)')

  const sideDown = watch.next('heart/side/ai_lock', (m) => m.payload === 'down')
  await watch.client.publishAsync('heart/rear/ai_lock/set', 'down')
  await watch.client.publishAsync('heart/side/ai_lock/set', 'down')
  await sideDown
  t.same(h.locked, { front: false, rear: false, side: true }, 'the new camera\'s command topic works; the removed one\'s is not listened to')
  t.equal(h.bridge.health().reconnects, 0, 'the bridge stayed connected throughout')
})

t.test('mqtt.motionMinIntervalMs: at most one motion message per camera per interval, the first at once and the last state at the end', async (t) => {
  const mosquitto = await broker(t)
  const watch = await watcher(t, mosquitto.url)
  const h = startCameras(t, ['front', 'rear'], { url: mosquitto.url, motionMinIntervalMs: 1000 })
  await waitFor(() => h.bridge.health().connected, 'the bridge connected', () => h.bridge.health(), 10_000)

  // A burst of 100 events per camera (more than a second of 60 fps), the last of each saying motion stopped.
  const lastFront = watch.next('heart/front/motion', (m) => seqOf(m) === 'f99')
  const lastRear = watch.next('heart/rear/motion', (m) => seqOf(m) === 'r99')
  for (let i = 0; i < 100; i++) {
    h.events.push('motion', motionOf(`f${i}`, i === 99 ? [] : undefined), 'front.movement_detector')
    h.events.push('motion', motionOf(`r${i}`, i === 99 ? [] : undefined), 'rear.movement_detector')
  }
  h.events.drain()
  t.same(JSON.parse((await lastFront).payload).boxes, [], 'front: the last state (motion stopped) arrives')
  await lastRear
  await new Promise((r) => setTimeout(r, 300))
  for (const camera of ['front', 'rear']) {
    const seqs = watch.on(`heart/${camera}/motion`).map(seqOf)
    const c = camera[0]
    t.ok(seqs.length >= 2 && seqs.length <= 4, `${camera}: ${seqs.length} messages for 100 events (without the cap: 100)`)
    t.equal(seqs[0], `${c}0`, `${camera}: the first event went, not held back`)
    t.equal(seqs.at(-1), `${c}99`, `${camera}: the newest went last`)
  }
  t.ok(h.bridge.health().coalesced >= 180, `coalesced counted (${h.bridge.health().coalesced})`)

  // After a quiet interval the first event of a new burst goes again (a gate that only sent the newest would skip g0).
  await new Promise((r) => setTimeout(r, 1200))
  const leading = watch.next('heart/front/motion', (m) => seqOf(m) === 'g0', 5000)
  const trailing = watch.next('heart/front/motion', (m) => seqOf(m) === 'g9', 5000)
  for (let i = 0; i < 10; i++) h.events.push('motion', motionOf(`g${i}`), 'front.movement_detector')
  h.events.drain()
  await leading
  await trailing
  t.pass('after a quiet interval: the first event of the burst and then its newest')
  t.equal(h.bridge.health().dropped, 0, 'nothing dropped: coalesced is not a loss')
})
