// `heart run` (the real bin, a child process) on the test camera with MQTT
// on, against Debian's mosquitto: availability online, motion events from the
// default movement detector (the test camera's moving box), retained health,
// thermal summaries, the AI-lock command switching /health's ai_locked, the
// broker stopped mid-run (drops counted, the camera keeps streaming, the
// bridge reconnects when it is back), and `offline` through the broker both
// at a clean stop and as the last will after SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startMosquitto, watchTopics, type Mosquitto, type TopicWatcher } from '@heart/mqtt/testing'
import { freeLoopbackPort, waitFor } from '@heart/telemetry/testing'
import t, { type Test } from 'tap'

const bin = fileURLToPath(new URL('../src/bin.js', import.meta.url))

interface Heart {
  child: ChildProcess
  httpPort: number
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

interface Health {
  status: string
  reasons: string[]
  camera: { state: string; ai_locked: boolean; frames_total?: number; frames_per_s: number }
  mqtt?: { state: string; connected: boolean; sent: number; dropped: number; queued: number; reconnects: number; last_error: string | null }
}

const running = new Set<ChildProcess>()
function killIfRunning(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL')
}
t.teardown(() => {
  for (const child of running) killIfRunning(child)
})

async function startHeart(t: Test, brokerUrl: string, extra = ''): Promise<Heart> {
  const httpPort = await freeLoopbackPort()
  const config = join(t.testdir({}), 'heart.yaml')
  writeFileSync(
    config,
    [
      'source: "testsrc://?size=320x240&fps=15"',
      'camera: { expect: { maxSize: 320x240 }, decodeThreads: 1 }',
      'consumers:',
      '  - { name: movement_detector, kind: motion, depth: 6 }',
      `http: { port: ${httpPort} }`,
      `mqtt: { url: "${brokerUrl}", healthEveryS: 1, maxQueued: 20, reconnect: { initialMs: 200, maxMs: 1000 }${extra} }`,
    ].join('\n'),
  )
  const child = spawn(process.execPath, [bin, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  t.teardown(() => killIfRunning(child))
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child)
      resolve({ code, signal })
    }),
  )
  return { child, httpPort, stderr: () => stderr, exited }
}

async function health(heart: Heart): Promise<Health> {
  const res = await fetch(`http://127.0.0.1:${heart.httpPort}/health`)
  return (await res.json()) as Health
}

async function broker(t: Test): Promise<Mosquitto> {
  const mosquitto = await startMosquitto({ port: await freeLoopbackPort() })
  t.teardown(() => mosquitto.dispose())
  return mosquitto
}

async function watcher(t: Test, url: string, filters = ['heart/#']): Promise<TopicWatcher> {
  const w = await watchTopics(url, filters)
  t.teardown(() => w.close())
  return w
}

t.test('heart run publishes through mosquitto, takes the AI-lock command, outlives the broker, and its last will says offline', async (t) => {
  const mosquitto = await broker(t)
  const watch = await watcher(t, mosquitto.url)
  const online = watch.next('heart/availability', (m) => m.payload === 'online', 30_000)
  const motion = watch.next('heart/main/motion', (m) => (JSON.parse(m.payload) as { boxes: unknown[] }).boxes.length > 0, 30_000)
  const heart = await startHeart(t, mosquitto.url)
  await online
  t.pass('availability: online')

  const event = JSON.parse((await motion).payload) as { camera: string; seq: string; capture_ts_ns: string; boxes: Array<{ x: number; y: number; w: number; h: number }> }
  t.match(event, { camera: 'main', seq: /^\d+$/, capture_ts_ns: /^\d+$/ }, 'a motion event names the camera, seq and capture time')
  t.ok(event.boxes[0]!.w > 0 && event.boxes[0]!.h > 0, 'with the moving box')

  const thermal = JSON.parse((await watch.next('heart/thermal', undefined, 10_000)).payload) as Record<string, number>
  t.ok(['ta', 'min', 'max', 'mean'].every((k) => typeof thermal[k] === 'number') && !('pixels' in thermal), 'thermal: a summary, no pixels')

  // Retained health, as a subscriber arriving now sees it.
  await waitFor(async () => (await health(heart)).camera.state === 'streaming', 'the camera streaming', undefined, 20_000)
  const late = await watcher(t, mosquitto.url, ['heart/main/health'])
  const retained = await late.next('heart/main/health', (m) => m.retain, 5000)
  t.match(JSON.parse(retained.payload), { camera: 'main', status: /green|yellow/, health: { state: /streaming|opening|idle/ } }, 'retained health with the camera section')

  // The AI-lock command does what POST /camera/down does.
  const down = watch.next('heart/main/ai_lock', (m) => m.payload === 'down', 5000)
  await watch.client.publishAsync('heart/main/ai_lock/set', 'down')
  await down
  await waitFor(async () => (await health(heart)).camera.ai_locked, '/health ai_locked true', undefined, 5000)
  t.pass('ai_lock/set down: /health camera.ai_locked true, echoed down')
  const up = watch.next('heart/main/ai_lock', (m) => m.payload === 'up', 5000)
  await watch.client.publishAsync('heart/main/ai_lock/set', 'up')
  await up
  t.equal((await health(heart)).camera.ai_locked, false, 'ai_lock/set up: unlocked again')

  const before = await health(heart)
  t.match(before.mqtt, { state: 'connected', connected: true, dropped: 0, last_error: null }, '/health mqtt: connected, nothing dropped')
  t.ok(before.mqtt!.sent > 0, `sent ${before.mqtt!.sent}`)

  // The broker goes away: heart keeps streaming, counts what it cannot send, and says so (yellow).
  await mosquitto.stop()
  await waitFor(async () => (await health(heart)).mqtt?.connected === false, 'mqtt disconnected in /health', undefined, 10_000)
  await waitFor(async () => ((await health(heart)).mqtt?.dropped ?? 0) > 0, 'drops counted', async () => (await health(heart)).mqtt, 15_000)
  const away = await health(heart)
  t.equal(away.camera.state, 'streaming', 'the camera keeps streaming without the broker')
  t.ok(away.camera.frames_per_s > 5, `at ${away.camera.frames_per_s} frames a second`)
  t.not(away.status, 'green', 'health is not green while the broker is away')
  t.ok(away.reasons.some((r) => r.startsWith('mqtt: not connected')), 'and says why')
  t.match(away.mqtt, { last_error: /^MQTT_(CONNECTION_LOST|UNREACHABLE)/ }, 'the error is named')
  t.ok(away.mqtt!.queued > 0 && away.mqtt!.queued <= 20, `the queue holds at most maxQueued (${away.mqtt!.queued})`)

  // Back: reconnect with backoff, and events flow again.
  await mosquitto.start()
  await waitFor(async () => (await health(heart)).mqtt?.connected === true, 'mqtt reconnected', async () => (await health(heart)).mqtt, 15_000)
  const back = await health(heart)
  t.ok(back.mqtt!.reconnects >= 1, `reconnected after ${back.mqtt!.reconnects} attempts`)
  await watch.next('heart/main/motion', undefined, 15_000)
  t.pass('motion events reach the broker again')

  // kill -9: the broker publishes the last will.
  const offline = watch.next('heart/availability', (m) => m.payload === 'offline', 15_000)
  process.kill(heart.child.pid!, 'SIGKILL')
  t.match(await heart.exited, { signal: 'SIGKILL' }, 'heart was killed')
  await offline
  t.pass('the last will: offline after SIGKILL')
  const afterKill = await watcher(t, mosquitto.url, ['heart/availability'])
  t.equal((await afterKill.next('heart/availability', (m) => m.retain, 5000)).payload, 'offline', 'and offline is retained')
})

t.test('thermal pixels when asked; a clean stop publishes offline itself; a wrong password is named in /health and the log without the password', async (t) => {
  const PASSWORD = 'R1ght-Broker pw'
  const WRONG = 'Wr0ng-Broker pw'
  const mosquitto = await startMosquitto({ port: await freeLoopbackPort(), users: { heartbox: PASSWORD } })
  t.teardown(() => mosquitto.dispose())
  const watch = await watchTopics(mosquitto.url, ['heart/#'], { username: 'heartbox', password: PASSWORD })
  t.teardown(() => watch.close())

  const online = watch.next('heart/availability', (m) => m.payload === 'online', 30_000)
  const pixels = watch.next('heart/thermal', (m) => 'temperatures' in (JSON.parse(m.payload) as object), 30_000)
  const heart = await startHeart(t, `mqtt://heartbox:${encodeURIComponent(PASSWORD)}@127.0.0.1:${mosquitto.port}`, ', thermalPixels: true')
  await online
  const frame = JSON.parse((await pixels).payload) as { width: number; height: number; temperatures: number[]; min: number; max: number }
  t.match(frame, { width: 32, height: 24 }, 'thermalPixels: the frame size')
  t.equal(frame.temperatures.length, 768, 'and its 768 temperatures')
  t.ok(frame.temperatures.every((c) => c >= frame.min - 0.01 && c <= frame.max + 0.01), 'each between the frame\'s min and max')
  const reasons = (await health(heart)).reasons
  t.notOk(reasons.some((r) => /mqtt/.test(r)), `its place on the thermal ring costs health nothing (${reasons.join('; ')})`)
  const offline = watch.next('heart/availability', (m) => m.payload === 'offline', 10_000)
  process.kill(heart.child.pid!, 'SIGTERM')
  t.match(await heart.exited, { code: 0 }, 'heart stops cleanly on SIGTERM')
  await offline
  t.pass('a clean stop publishes offline')

  const wrong = await startHeart(t, `mqtt://heartbox@127.0.0.1:${mosquitto.port}`, `, password: "${WRONG}"`)
  await waitFor(async () => (await health(wrong).catch(() => null))?.mqtt?.last_error != null, 'a named broker error', undefined, 20_000)
  const report = await health(wrong)
  t.match(report.mqtt, { connected: false, last_error: /^MQTT_AUTH_REFUSED/ }, '/health names MQTT_AUTH_REFUSED')
  process.kill(wrong.child.pid!, 'SIGTERM')
  await wrong.exited
  t.match(wrong.stderr(), /MQTT_AUTH_REFUSED/, 'the log names it')
  for (const [what, text] of [['/health', JSON.stringify(report)], ['the log', wrong.stderr()]] as const) {
    t.notOk(text.includes('Wr0ng'), `${what}: no password`)
  }
})
