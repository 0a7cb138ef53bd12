import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { request, type ClientRequest } from 'node:http'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { parseConfig, silentLogger, type Logger } from '@heart/kernel'
import { HttpServer, jsonRoute, type HttpServerOptions } from '../src/http-server.js'
import { FailedLogins } from '../src/http/auth.js'
import { loadHeartConfig } from '../src/config.js'
import { httpLimitsSchema } from '../src/http/config.js'
import { resolveHttpSecurity } from '../src/http/security.js'
import { ask, idleSockets, sleep } from './http/client.js'

t.test('routes, 404 with the endpoint list, 405 with Allow, 500 with the reason', async (t) => {
  const server = new HttpServer(silentLogger)
  server.add([
    jsonRoute('/health', () => ({ status: 'green', seq: 5n })),
    { method: 'POST', path: '/boom', handle: () => { throw new Error('handler broke') } },
  ])
  const { port } = await server.listen('127.0.0.1', 0)
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${port}`
  const ok = await fetch(`${base}/health?x=1`)
  t.equal(ok.status, 200)
  t.equal(ok.headers.get('content-type'), 'application/json')
  t.same(await ok.json(), { status: 'green', seq: 5 })
  const missing = await fetch(`${base}/nope`)
  t.equal(missing.status, 404)
  t.same(((await missing.json()) as { endpoints: string[] }).endpoints, ['GET /health', 'POST /boom'])
  const wrong = await fetch(`${base}/health`, { method: 'POST' })
  t.equal(wrong.status, 405)
  t.equal(wrong.headers.get('allow'), 'GET')
  const broken = await fetch(`${base}/boom`, { method: 'POST' })
  t.equal(broken.status, 500)
  t.same(await broken.json(), { error: 'handler broke' })
})

t.test('a port in use is a clear error', async (t) => {
  const a = new HttpServer(silentLogger)
  const { port } = await a.listen('127.0.0.1', 0)
  t.teardown(() => a.close())
  const b = new HttpServer(silentLogger)
  await t.rejects(b.listen('127.0.0.1', port), { code: 'EADDRINUSE', message: new RegExp(`another program uses 127.0.0.1:${port}`) })
})

// ---- security: Host, token, CSRF, limits, TLS (docs/security.md) ----

/** A logger that keeps what it was told, so tests can count warnings. */
function recordingLogger(): Logger & { lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = []
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields })
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

/** A server with a camera-like AI-lock: POST /camera/down turns it on, /health shows it. */
async function lockServer(t: Test, options: HttpServerOptions = {}, logger: Logger = silentLogger) {
  const state = { aiLocked: false }
  const server = new HttpServer(logger, options)
  server.add([
    jsonRoute('/health', () => ({ ai_locked: state.aiLocked })),
    { method: 'POST', path: '/camera/down', handle: (_req, res) => { state.aiLocked = true; res.end('{}') } },
    { method: 'GET', path: '/stream.mjpeg', stream: 'mjpeg', handle: (_req, res) => { res.writeHead(200); res.write('--frame\r\n') } },
    { method: 'GET', path: '/', handle: (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<p>live view</p>') } },
  ])
  const { port } = await server.listen('127.0.0.1', 0)
  t.teardown(() => server.close())
  return { server, port, state }
}

const TOKEN = 'tok-0123456789abcdef0123456789'

t.test('Host must be a name of this server (DNS rebinding): 421 otherwise', async (t) => {
  const { port } = await lockServer(t, { allowedHosts: ['cam.example'] })
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'cam.example', `CAM.example:${port}`, hostname()]) {
    t.equal((await ask(port, { path: '/health', headers: { host } })).status, 200, `Host ${host}`)
  }
  for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', 'user@127.0.0.1', '127.0.0.1/x']) {
    const answer = await ask(port, { path: '/health', headers: { host } })
    t.equal(answer.status, 421, `Host ${host}`)
    t.match(JSON.parse(answer.body), { error: /is not a name of this server; add it to http.allowedHosts/ })
  }
})

t.test('with a token: every route needs it (401 + WWW-Authenticate), compared as a whole', async (t) => {
  const { port } = await lockServer(t, { security: { token: TOKEN, tls: null, openToNetwork: false } })
  const none = await ask(port, { path: '/health' })
  t.equal(none.status, 401)
  t.match(none.headers['www-authenticate'], /^Bearer/)
  t.notMatch(none.body, TOKEN)
  for (const wrong of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
    t.equal((await ask(port, { path: '/health', headers: { authorization: wrong } })).status, 401, `Authorization: ${wrong.slice(0, 12)}...`)
  }
  t.equal((await ask(port, { method: 'POST', path: '/camera/down' })).status, 401, 'a POST without the token')
  t.equal((await ask(port, { path: '/nope' })).status, 401, 'no endpoint list for strangers')
  const ok = await ask(port, { path: '/health', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.status, 200)
  t.same(JSON.parse(ok.body), { ai_locked: false })
  t.equal((await ask(port, { method: 'POST', path: '/camera/down', headers: { authorization: `bearer ${TOKEN}` } })).status, 200, 'the scheme is case-insensitive')
})

t.test('the live view logs in once: login form, ?token= traded for an HttpOnly SameSite=Strict cookie', async (t) => {
  const { port } = await lockServer(t, { security: { token: TOKEN, tls: null, openToNetwork: false } })
  const form = await ask(port, { path: '/', headers: { accept: 'text/html' } })
  t.equal(form.status, 401)
  t.match(form.body, /<form method="get" action="\/"/)
  const wrong = await ask(port, { path: '/?token=guess-guess-guess-guess', headers: { accept: 'text/html' } })
  t.equal(wrong.status, 401)
  t.match(wrong.body, /not right/)
  t.equal(wrong.headers['set-cookie'], undefined)
  const login = await ask(port, { path: `/?token=${TOKEN}` })
  t.equal(login.status, 303)
  t.equal(login.headers.location, '/', 'the token leaves the address bar')
  const cookie = String(login.headers['set-cookie'])
  t.match(cookie, /^heart_session=[\w-]+; HttpOnly; SameSite=Strict; Path=\//)
  t.notMatch(cookie, /Secure/, 'no Secure flag over plain HTTP')
  t.notMatch(cookie, TOKEN, 'the cookie does not hold the token')
  const session = cookie.split(';')[0]!
  t.equal((await ask(port, { path: '/', headers: { cookie: session } })).status, 200)
  t.equal((await ask(port, { path: '/health', headers: { cookie: `other=1; ${session}` } })).status, 200)
  t.equal((await ask(port, { path: '/health', headers: { cookie: `${session}x` } })).status, 401)
  const again = await ask(port, { path: `/?token=${TOKEN}`, headers: { cookie: session } })
  t.equal(again.status, 303, 'logged in already: the token is still taken out of the address bar')
})

t.test('CSRF: a POST from another origin, or with a form or text body, does not change state', async (t) => {
  const { port, state } = await lockServer(t)
  const self = `http://127.0.0.1:${port}`
  const cases: Array<[string, Record<string, string>, string | undefined, number]> = [
    ['a foreign Origin', { origin: 'http://evil.example' }, undefined, 403],
    ['Origin null (sandboxed page)', { origin: 'null' }, undefined, 403],
    ['another port of this host', { origin: 'http://127.0.0.1:1' }, undefined, 403],
    ['a foreign Referer without Origin', { referer: 'http://evil.example/page' }, undefined, 403],
    ['a urlencoded form', { origin: self, 'content-type': 'application/x-www-form-urlencoded' }, 'a=1', 415],
    ['a text/plain form', { origin: self, 'content-type': 'text/plain' }, 'a=1', 415],
    ['a multipart form', { origin: self, 'content-type': 'multipart/form-data; boundary=x' }, '--x--', 415],
    ['a body without Content-Type', { origin: self }, 'a=1', 415],
  ]
  for (const [what, headers, body, status] of cases) {
    const answer = await ask(port, { method: 'POST', path: '/camera/down', headers, body })
    t.equal(answer.status, status, what)
    t.type(JSON.parse(answer.body).error, 'string', `${what}: a JSON error`)
    t.equal(state.aiLocked, false, `${what}: the AI-lock stays off`)
  }
  t.equal((await ask(port, { method: 'POST', path: '/camera/down', headers: { origin: self, 'content-type': 'application/json' }, body: '{}' })).status, 200, 'same origin, JSON')
  t.equal(state.aiLocked, true)
  t.equal((await ask(port, { method: 'POST', path: '/camera/down', headers: { referer: `${self}/` } })).status, 200, 'same-origin Referer, empty body')
  t.equal((await ask(port, { method: 'POST', path: '/camera/down' })).status, 200, 'no Origin at all (curl): the token decides')
})

t.test('a body over maxBodyBytes gets 413, announced or streamed', async (t) => {
  const limits = parseConfig(httpLimitsSchema, { maxBodyBytes: 100 })
  const { port, state } = await lockServer(t, { limits })
  const big = JSON.stringify({ pad: 'x'.repeat(200) })
  const announced = await ask(port, { method: 'POST', path: '/camera/down', headers: { 'content-type': 'application/json' }, body: big })
  t.equal(announced.status, 413)
  t.match(JSON.parse(announced.body), { error: /larger than 100 bytes/ })
  const streamed = await ask(port, { method: 'POST', path: '/camera/down', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big })
  t.equal(streamed.status, 413)
  t.equal(state.aiLocked, false)
  t.equal((await ask(port, { method: 'POST', path: '/camera/down', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })).status, 200, 'a small body passes')
})

t.test('stream caps: MJPEG viewers past the limit get 503, logged once per burst; a place frees when a viewer leaves', async (t) => {
  const logger = recordingLogger()
  const limits = parseConfig(httpLimitsSchema, { maxMjpegViewers: 2 })
  const { port } = await lockServer(t, { limits }, logger)
  const open: ClientRequest[] = []
  const viewer = () =>
    new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/stream.mjpeg', agent: false }, (res) => resolve(res.statusCode ?? 0))
      req.on('error', () => undefined)
      req.end()
      open.push(req)
    })
  t.teardown(() => open.forEach((r) => r.destroy()))
  t.same([await viewer(), await viewer()], [200, 200])
  for (let i = 0; i < 5; i++) t.equal((await ask(port, { path: '/stream.mjpeg' })).status, 503, `viewer ${i + 3}`)
  t.equal(logger.lines.filter((l) => l.level === 'warn').length, 1, 'one warning for the burst')
  open[0]!.destroy()
  await sleep(100)
  t.equal(await viewer(), 200, 'the freed place is taken')
})

t.test('idle connections past maxIdleConnections: the oldest are closed; a busy stream is kept', async (t) => {
  const logger = recordingLogger()
  const limits = parseConfig(httpLimitsSchema, { maxIdleConnections: 5 })
  const { server, port } = await lockServer(t, { limits }, logger)
  const stream = request({ host: '127.0.0.1', port, path: '/stream.mjpeg', agent: false })
  const streaming = new Promise<number>((resolve) => stream.on('response', (res) => resolve(res.statusCode ?? 0)))
  stream.end()
  t.equal(await streaming, 200)
  const sockets = await idleSockets(port, 30)
  t.teardown(() => sockets.forEach((s) => s.destroy()))
  await sleep(300)
  const alive = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length
  t.ok(alive <= 5, `${alive} idle sockets left open of 30`)
  t.equal(stream.destroyed, false, 'the MJPEG viewer is not idle and stays')
  t.equal((await ask(port, { path: '/health' })).status, 200, 'a new request is served')
  t.equal(logger.lines.filter((l) => l.level === 'warn').length, 1, 'one warning for 26 closed sockets')
  stream.destroy()
  await server.close()
  t.match(logger.lines.at(-1), { level: 'info', msg: /burst over/, fields: { refused: 26 } }, 'the count comes at the end of the burst (25 of the 30, and one for the request after them)')
})

t.test('total cap: connections over maxConnections are closed at once, logged once', async (t) => {
  const logger = recordingLogger()
  const limits = parseConfig(httpLimitsSchema, { maxConnections: 4, maxIdleConnections: 100 })
  const { port } = await lockServer(t, { limits }, logger)
  const sockets = await idleSockets(port, 20)
  t.teardown(() => sockets.forEach((s) => s.destroy()))
  await sleep(300)
  const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length
  t.equal(open, 4, '4 held, 16 closed')
  t.equal(logger.lines.filter((l) => l.level === 'warn' && /connection limit/.test(l.msg)).length, 1)
  sockets.forEach((s) => s.destroy())
  await sleep(100)
  t.equal((await ask(port, { path: '/health' })).status, 200, 'served again once they leave')
})

t.test('headers timeout: a connection that never finishes its headers is closed', async (t) => {
  const limits = parseConfig(httpLimitsSchema, { headersTimeoutMs: 300, requestTimeoutMs: 600 })
  const { port } = await lockServer(t, { limits })
  const [socket] = await idleSockets(port, 1)
  socket!.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  const closed = await Promise.race([new Promise((r) => socket!.once('close', () => r(true))), sleep(4000).then(() => false)])
  t.ok(closed, 'closed within the timeout (checked every second at most)')
})

t.test('TLS: served over node:https with a self-signed certificate; the cookie is Secure', { skip: !existsSync('/usr/bin/openssl') && 'needs openssl' }, async (t) => {
  const dir = t.testdir({})
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' })
  const config = loadHeartConfig(undefined, {})
  const security = resolveHttpSecurity({ ...config.http, token: TOKEN, tls: { cert: 'cert.pem', key: 'key.pem' } }, {}, dir)
  const { port } = await lockServer(t, { security })
  const ca = readFileSync(join(dir, 'cert.pem'))
  const ok = await ask(port, { path: '/health', headers: { authorization: `Bearer ${TOKEN}` }, ca })
  t.equal(ok.status, 200)
  const login = await ask(port, { path: `/?token=${TOKEN}`, ca })
  t.match(String(login.headers['set-cookie']), /; Secure/)
  await t.rejects(ask(port, { path: '/health' }), 'plain HTTP is not answered')
})

t.test('token guessing: after 10 wrong secrets an address gets 429 for the rest of the minute, right token or not; visits without a secret do not count', async (t) => {
  const logger = recordingLogger()
  const { port } = await lockServer(t, { security: { token: TOKEN, tls: null, openToNetwork: false } }, logger)
  const right = { authorization: `Bearer ${TOKEN}` }
  for (let i = 0; i < 20; i++) t.equal((await ask(port, { path: '/health' })).status, 401, 'no secret at all: 401, not counted')
  t.equal((await ask(port, { path: '/health', headers: right })).status, 200, 'the right token still works after 20 visits without one')
  // Ten wrong tries of every kind: header, stale cookie, the login form.
  const wrongs = [
    ...Array.from({ length: 4 }, (_, i) => ({ path: '/health', headers: { authorization: `Bearer guess-${i}-0123456789` } })),
    ...Array.from({ length: 3 }, (_, i) => ({ path: '/health', headers: { cookie: `heart_session=guess${i}` } })),
    ...Array.from({ length: 3 }, (_, i) => ({ path: `/?token=guess-${i}-0123456789` })),
  ]
  for (const wrong of wrongs) t.equal((await ask(port, wrong)).status, 401, 'a wrong secret within the allowance: 401')
  t.equal((await ask(port, { path: '/health', headers: right })).status, 200, 'ten wrong tries still leave the right token working')
  const locked = await ask(port, { path: '/health', headers: { authorization: 'Bearer guess-11-0123456789' } })
  t.equal(locked.status, 401, 'the eleventh wrong one is answered, and locks the address')
  const after = await ask(port, { path: '/health', headers: right })
  t.equal(after.status, 429, 'then even the right token waits: the lock tells a guesser nothing')
  const retry = Number(after.headers['retry-after'])
  t.ok(retry > 0 && retry <= 60, `Retry-After ${retry} s`)
  t.notMatch(after.body, TOKEN)
  t.equal(logger.lines.filter((l) => /too many wrong tokens/.test(l.msg)).length, 1, 'logged once')
  t.notMatch(JSON.stringify(logger.lines), /guess-|0123456789abcdef/, 'no tried or real secret in the log')
})

t.test('FailedLogins: the window ends the lock, and the table stays bounded', async (t) => {
  let now = 0
  const logins = new FailedLogins(2, 1000, 3, () => now)
  t.equal(logins.failed('a'), false)
  t.equal(logins.failed('a'), false)
  t.equal(logins.lockedForS('a'), 0, 'two failures are allowed')
  t.equal(logins.failed('a'), true, 'the third locks, and says so once')
  t.equal(logins.failed('a'), false)
  now = 400
  t.equal(logins.lockedForS('a'), 1, 'locked for what is left of the window, rounded up')
  now = 1000
  t.equal(logins.lockedForS('a'), 0, 'a new window, a new allowance')
  for (const address of ['b', 'c', 'd', 'e']) logins.failed(address)
  for (let i = 0; i < 3; i++) logins.failed('e')
  t.ok(logins.lockedForS('e') > 0, 'the newest address is kept when the table is full')
  t.equal(logins.lockedForS('b'), 0, 'the oldest made room')
})
