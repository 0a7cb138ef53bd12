// Issue 12's credentials audit, at the level of the whole `heart` binary: a
// real RTSP camera (the GStreamer test server with basic auth) whose user and
// password hold a space, / # ? @ : % and non-ASCII letters, given to heart in
// every way it accepts one (raw in the config file, percent-encoded, on
// --source). Every output an operator or a collector can see is collected:
// stdout (the status lines), stderr (the logs), /health, /metrics, the live
// view (page, script, latest-frame JSON, snapshot, the SSE stream), the
// summary file, the OTLP metric and trace bodies, `heart probe` (text and
// --json), `heart config check`, and the errors for a wrong password
// (AUTH_FAILED) and a malformed URL (INVALID_SOURCE). None may hold the
// secret in any spelling; each is asserted non-empty and about the camera, so
// the audit cannot pass by collecting nothing.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { freeLoopbackPort, waitFor } from '@heart/telemetry/testing'
import { startMosquitto } from '@heart/mqtt/testing'
import t, { type Test } from 'tap'

// The capture package's test servers are not exported; load its compiled
// helpers from where tsc puts them (packages/capture/dist/test/support/).
type RtspSupport = typeof import('../../capture/dist/test/support/rtsp-server.js')
type MediaSupport = typeof import('../../capture/dist/test/support/media.js')
const captureSupport = (file: string): URL => new URL(`../../../capture/dist/test/support/${file}`, import.meta.url)
const { startRtspServer } = (await import(captureSupport('rtsp-server.js').href)) as RtspSupport
const { clip } = (await import(captureSupport('media.js').href)) as MediaSupport

const bin = fileURLToPath(new URL('../src/bin.js', import.meta.url))

// Every character a URL treats specially, and non-ASCII, in both parts (a
// basic-auth user cannot hold ':'). Each also holds a plain-ASCII word
// (Quokka9, Tr0ub4dor) that survives any escaping (JSON \u, protobuf, a
// message cut at a special character), so a partial leak is caught too.
const USER = 'Quokka9 ü/#?@%x'
const PASSWORD = 'Tr0ub4dor p@ss w/rd#?:%é'
const WRONG_PASSWORD = 'Wr0ngH0rse p@ss w/rd#?:%é'
const TOKEN = 'credentials-audit-token-0123456789'

/** Every spelling of a credential that must not appear anywhere. */
function forbiddenSpellings(user: string, password: string): string[] {
  const pair = `${user}:${password}`
  const encodedPair = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`
  const words = [user, password].flatMap((part) => part.split(/[\s/#?@:%]/).filter((w) => w.length >= 5))
  return [
    password,
    encodeURIComponent(password),
    encodeURI(password),
    user,
    encodeURIComponent(user),
    pair,
    encodedPair,
    // The Basic header FFmpeg sends, and the same of the encoded spelling.
    Buffer.from(pair).toString('base64'),
    Buffer.from(encodedPair).toString('base64'),
    ...words,
  ]
}

// The HTTP token of the main run must stay out of its outputs as well.
const FORBIDDEN = [...forbiddenSpellings(USER, PASSWORD), ...forbiddenSpellings(USER, WRONG_PASSWORD), TOKEN]

/** The spellings of the secret found in one output (bytes, so protobuf bodies are searched as they are). */
function leaksIn(output: string | Buffer): string[] {
  const bytes = typeof output === 'string' ? Buffer.from(output) : output
  return [...new Set(FORBIDDEN.filter((s) => bytes.includes(Buffer.from(s))))]
}

/** Asserts the output was really collected (`holds`) and holds no spelling of the secret. */
function audit(t: Test, what: string, output: string | Buffer, holds: RegExp): void {
  const text = output.toString()
  t.match(text, holds, `${what}: collected (${output.length} bytes)`)
  t.same(leaksIn(output), [], `${what}: no credential in any spelling`)
}

interface Heart {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

// Children still running when a test ends (an assertion failed, a wait timed out) are killed by PID.
const running = new Set<ChildProcess>()
function killIfRunning(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL')
}
t.teardown(() => {
  for (const child of running) killIfRunning(child)
})

function startHeart(args: string[], env: Record<string, string> = {}): Heart {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  running.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child)
      resolve(code)
    }),
  )
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

/** Runs heart to its end (killed after timeoutMs) and returns what it printed. */
async function heartRan(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const heart = startHeart(args)
  const timer = setTimeout(() => killIfRunning(heart.child), timeoutMs)
  const code = await heart.exited
  clearTimeout(timer)
  return { code, stdout: heart.stdout(), stderr: heart.stderr() }
}

interface OtlpBody {
  path: string
  body: Buffer
}

/** An OTLP/HTTP receiver that keeps each request body as bytes (JSON or protobuf, gunzipped). */
async function startOtlpRecorder(): Promise<{ port: number; bodies: OtlpBody[]; server: Server }> {
  const bodies: OtlpBody[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      bodies.push({ path: req.url ?? '', body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw })
      const json = String(req.headers['content-type']).includes('json')
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '')
    })
  })
  const port = await freeLoopbackPort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { port, bodies, server }
}

const file = await clip({ codec: 'h264', width: 320, height: 240, fps: 15, seconds: 30 })
const camera = await startRtspServer({ mounts: { '/cam': file }, auth: `${USER}:${PASSWORD}` })
t.teardown(() => camera.stop())
const otlp = await startOtlpRecorder()
t.teardown(() => new Promise<void>((resolve) => otlp.server.close(() => resolve())))

const rawUrl = camera.url('/cam', `${USER}:${PASSWORD}`)
const encodedUrl = camera.url('/cam', `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}`)
const wrongUrl = camera.url('/cam', `${USER}:${WRONG_PASSWORD}`)
// The port is out of range: INVALID_SOURCE at start, with the password in the message's input.
const badPortUrl = `rtsp://${USER}:${PASSWORD}@127.0.0.1:99999/cam`
const REDACTED = /rtsp:\/\/\*\*\*@127\.0\.0\.1/
// A status line (the /health object) once the camera was opened: it names the source.
const STATUS_WITH_SOURCE = /"type":"status"[^\n]*"source":"rtsp:\/\/\*\*\*@127\.0\.0\.1/

/** A small camera-only config: the live view's encoder, no thermal sensor, HTTP on `httpPort`. */
function configYaml(source: string, httpPort: number, extra = ''): string {
  return [
    // JSON's string syntax is YAML's double-quoted one: any character, written as it is.
    `source: ${JSON.stringify(source)}`,
    'camera: { expect: { maxSize: 320x240 }, decodeThreads: 1, openTimeoutMs: 4000 }',
    'consumers:',
    '  - { name: telemetry_stream, kind: encoder, options: { fps: 5 } }',
    'thermal: { enabled: false }',
    `http: { port: ${httpPort} }`,
    extra,
  ].join('\n')
}

function writeConfig(t: Test, yaml: string): string {
  const path = join(t.testdir({}), 'heart.yaml')
  writeFileSync(path, yaml)
  return path
}

const auth = { authorization: `Bearer ${TOKEN}` }

async function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { ...auth, ...headers } })
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}

/** What the SSE stream sends in `ms`. */
async function readEvents(port: number, ms: number): Promise<string> {
  const abort = new AbortController()
  const res = await fetch(`http://127.0.0.1:${port}/events`, { headers: auth, signal: abort.signal })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const stop = setTimeout(() => abort.abort(), ms)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
  } catch {
    // aborted: the time is up
  } finally {
    clearTimeout(stop)
  }
  return text
}

t.test('one run with the password raw in the config: no output holds it', async (t) => {
  const httpPort = await freeLoopbackPort()
  const dir = t.testdir({})
  const summaryFile = join(dir, 'summary.json')
  const config = writeConfig(t, configYaml(rawUrl, httpPort, `telemetry:\n  otlp: { endpoint: "http://127.0.0.1:${otlp.port}", metricsIntervalMs: 500 }\n  traces: { sampleEvery: 5, exportDelayMs: 500 }`))
  const heart = startHeart(['run', '--config', config, '--summary', summaryFile], { HEART_TOKEN: TOKEN })
  // A failed wait or assertion must not leave it running beside the next tests.
  t.teardown(() => killIfRunning(heart.child))

  // Streaming: the camera accepted the password.
  await waitFor(() => /"type":"status"[^\n]*"state":"streaming"/.test(heart.stdout()), 'a streaming status line', undefined, 20_000).catch(() => undefined)
  t.match(heart.stdout(), /"state":"streaming"/, `the camera streams (stderr: ${heart.stderr().slice(-2000)})`)
  const health = (await get(httpPort, '/health')).body.toString()
  audit(t, 'GET /health', health, REDACTED)
  t.match(JSON.parse(health), { camera: { state: 'streaming' } }, '/health has the streaming camera')

  const metrics = await get(httpPort, '/metrics')
  t.equal(metrics.status, 200, '/metrics with the token')
  audit(t, 'GET /metrics', metrics.body, /heart_\w+/)

  const page = await get(httpPort, '/', { accept: 'text/html' })
  audit(t, 'the live view page', page.body, /<html/i)
  audit(t, 'the live view script', (await get(httpPort, '/live/live.js')).body, /\w/)
  audit(t, 'GET /frames/latest.json', (await get(httpPort, '/frames/latest.json')).body, /"stream"/)
  const snapshot = await get(httpPort, '/snapshot.jpg')
  t.equal(snapshot.status, 200, 'a snapshot')
  t.same(leaksIn(snapshot.body), [], 'GET /snapshot.jpg: no credential in any spelling')
  audit(t, 'a 404 listing the endpoints', (await get(httpPort, '/no-such-page')).body, /endpoints/)
  audit(t, 'the live view SSE stream (3 s)', await readEvents(httpPort, 3000), /^(data|event):/m)

  await waitFor(() => ['/v1/metrics', '/v1/traces'].every((path) => otlp.bodies.some((b) => b.path === path)), 'OTLP metrics and traces bodies', undefined, 15_000).catch(() => undefined)
  // Spans carry the stage names; metric bodies the catalogue's names.
  for (const [path, holds] of [['/v1/metrics', /heart/], ['/v1/traces', /decode/]] as const) {
    const bodies = otlp.bodies.filter((b) => b.path === path)
    t.ok(bodies.length > 0, `OTLP ${path}: ${bodies.length} bodies received`)
    audit(t, `OTLP ${path}`, Buffer.concat(bodies.map((b) => b.body)), holds)
  }

  process.kill(heart.child.pid!, 'SIGTERM')
  t.equal(await heart.exited, 0, 'heart stops cleanly on SIGTERM')
  audit(t, 'stdout (status lines)', heart.stdout(), STATUS_WITH_SOURCE)
  audit(t, 'stderr (logs)', heart.stderr(), REDACTED)
  const summary = readFileSync(summaryFile, 'utf8')
  audit(t, 'the summary file', summary, REDACTED)
  t.ok((JSON.parse(summary) as { published: number }).published > 0, 'the summary counts frames')
})

t.test('the other spellings: percent-encoded in the config, raw and encoded on --source', async (t) => {
  for (const [what, args] of [
    ['percent-encoded in the config', (config: string): string[] => ['--config', config]],
    ['raw on --source', (config: string): string[] => ['--config', config, '--source', rawUrl]],
    ['percent-encoded on --source', (config: string): string[] => ['--config', config, '--source', encodedUrl]],
  ] as const) {
    const summaryFile = join(t.testdir({}), 'summary.json')
    // Port 0: these runs are read by their output only.
    const config = writeConfig(t, configYaml(what === 'percent-encoded in the config' ? encodedUrl : 'testsrc://', 0))
    const ran = await heartRan(['run', ...args(config), '--duration', '4', '--summary', summaryFile])
    t.equal(ran.code, 0, `${what}: exit 0`)
    audit(t, `${what}: stdout`, ran.stdout, STATUS_WITH_SOURCE)
    audit(t, `${what}: stderr`, ran.stderr, REDACTED)
    const summary = readFileSync(summaryFile, 'utf8')
    audit(t, `${what}: summary`, summary, REDACTED)
    t.ok((JSON.parse(summary) as { published: number }).published > 0, `${what}: the camera accepted the credentials`)
  }
})

t.test('heart probe, text and --json, raw and percent-encoded', async (t) => {
  for (const [what, url] of [['raw', rawUrl], ['percent-encoded', encodedUrl]] as const) {
    const text = await heartRan(['probe', url])
    t.equal(text.code, 0, `probe ${what}: exit 0 (${text.stderr})`)
    audit(t, `probe ${what}: text`, text.stdout + text.stderr, /size\s+320x240/)
    const json = await heartRan(['probe', url, '--json'])
    t.equal(json.code, 0, `probe --json ${what}: exit 0`)
    audit(t, `probe --json ${what}`, json.stdout + json.stderr, /"width":\s*320/)
    t.match(json.stdout, REDACTED, `probe --json ${what}: the source, redacted`)
  }
})

t.test('config check of a config holding the password', async (t) => {
  const ran = await heartRan(['config', 'check', '--config', writeConfig(t, configYaml(rawUrl, 0))])
  t.equal(ran.code, 0, 'the config is valid')
  audit(t, 'config check', ran.stdout + ran.stderr, /valid; source rtsp:\/\/\*\*\*@127\.0\.0\.1/)
})

t.test('a wrong password: the camera refuses it, and no output names it', async (t) => {
  const probe = await heartRan(['probe', wrongUrl])
  t.equal(probe.code, 1, 'probe exits 1')
  audit(t, 'probe with a wrong password', probe.stdout + probe.stderr, /AUTH_FAILED/)
  const summaryFile = join(t.testdir({}), 'summary.json')
  const run = await heartRan(['run', '--config', writeConfig(t, configYaml(wrongUrl, 0)), '--duration', '4', '--summary', summaryFile])
  t.equal(run.code, 0, 'run goes on retrying and stops at --duration')
  audit(t, 'run with a wrong password: stdout', run.stdout, /AUTH_FAILED/)
  audit(t, 'run with a wrong password: stderr', run.stderr, /AUTH_FAILED/)
  audit(t, 'run with a wrong password: summary', readFileSync(summaryFile, 'utf8'), /AUTH_FAILED/)
})

t.test('a malformed URL holding the password: refused at start, naming no credential', async (t) => {
  for (const [what, args] of [
    ['run --source', ['run', '--source', badPortUrl]],
    ['run --config', ['run', '--config', writeConfig(t, configYaml(badPortUrl, 0))]],
    ['probe', ['probe', badPortUrl]],
    ['config check', ['config', 'check', '--config', writeConfig(t, configYaml(badPortUrl, 0))]],
  ] as const) {
    const ran = await heartRan([...args])
    t.equal(ran.code, 2, `${what}: exit 2`)
    audit(t, `${what}: the error`, ran.stdout + ran.stderr, /port "99999" in "rtsp:\/\/\*\*\*@127\.0\.0\.1:99999\/cam"[^]*\[(CONFIG_INVALID|INVALID_SOURCE)\]/)
  }
})

t.test('the same credentials on the MQTT broker: in the URL and in HEART_MQTT_PASSWORD, right and wrong', async (t) => {
  const broker = await startMosquitto({ port: await freeLoopbackPort(), users: { [USER]: PASSWORD } })
  t.teardown(() => broker.dispose())
  const inUrl = `mqtt://${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${broker.port}`
  const REDACTED_BROKER = /mqtt:\/\/\*\*\*@127\.0\.0\.1/

  const httpPort = await freeLoopbackPort()
  const config = writeConfig(t, configYaml('testsrc://', httpPort, `mqtt: { url: ${JSON.stringify(inUrl)} }`))
  const heart = startHeart(['run', '--config', config], { HEART_TOKEN: TOKEN })
  t.teardown(() => killIfRunning(heart.child))
  const connected = async (): Promise<boolean> => (JSON.parse((await get(httpPort, '/health')).body.toString()) as { mqtt?: { connected: boolean } }).mqtt?.connected === true
  await waitFor(() => connected().catch(() => false), 'heart connected to the broker', undefined, 20_000).catch(() => undefined)
  const health = (await get(httpPort, '/health')).body.toString()
  t.match(JSON.parse(health), { mqtt: { connected: true } }, `the broker accepted the credentials (stderr: ${heart.stderr().slice(-1000)})`)
  audit(t, 'GET /health with the broker URL holding the password', health, REDACTED_BROKER)
  process.kill(heart.child.pid!, 'SIGTERM')
  t.equal(await heart.exited, 0, 'heart stops cleanly')
  audit(t, 'stdout with the broker URL holding the password', heart.stdout(), REDACTED_BROKER)
  audit(t, 'stderr with the broker URL holding the password', heart.stderr(), /mqtt connected/)

  // The wrong password, from the environment, for the right user in the URL.
  const userOnly = `mqtt://${encodeURIComponent(USER)}@127.0.0.1:${broker.port}`
  const summaryFile = join(t.testdir({}), 'summary.json')
  const wrong = startHeart(['run', '--config', writeConfig(t, configYaml('testsrc://', 0, `mqtt: { url: ${JSON.stringify(userOnly)} }`)), '--duration', '4', '--summary', summaryFile], { HEART_MQTT_PASSWORD: WRONG_PASSWORD })
  t.teardown(() => killIfRunning(wrong.child))
  t.equal(await wrong.exited, 0, 'a refused broker does not stop heart')
  audit(t, 'a wrong broker password: stdout', wrong.stdout(), /MQTT_AUTH_REFUSED/)
  audit(t, 'a wrong broker password: stderr', wrong.stderr(), /MQTT_AUTH_REFUSED/)
  audit(t, 'a wrong broker password: summary', readFileSync(summaryFile, 'utf8'), /MQTT_AUTH_REFUSED/)

  // Checked and refused without starting: config check of the URL, and a URL that is not one for a broker.
  const checked = await heartRan(['config', 'check', '--config', config])
  t.equal(checked.code, 0, 'config check: valid')
  audit(t, 'config check with the broker URL holding the password', checked.stdout + checked.stderr, /valid/)
  const badScheme = `http://${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${broker.port}`
  const refused = await heartRan(['run', '--config', writeConfig(t, configYaml('testsrc://', 0, `mqtt: { url: ${JSON.stringify(badScheme)} }`))])
  t.equal(refused.code, 2, 'a URL that is not a broker URL: exit 2')
  audit(t, 'a bad broker URL holding the password: the error', refused.stdout + refused.stderr, /mqtt\.url[^]*not a broker URL[^]*CONFIG_INVALID/)
})
