// What heart run decides about HTTP before anything starts: the token, the
// refusal to serve other machines without one, TLS files. The token must
// never appear in a message.
import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadHeartConfig } from '../../src/config.js'
import { resolveHttpSecurity } from '../../src/http/security.js'
import { runHeart } from '../../src/run.js'
import { ask } from './client.js'

const BIN = fileURLToPath(new URL('../../src/bin.js', import.meta.url))
const TOKEN = 'sEcReT-0123456789-abcdef'

const http = (extra: Record<string, unknown> = {}) => ({ ...loadHeartConfig(undefined).http, ...extra })

t.test('a non-loopback address without a token is refused, saying how to set one', async (t) => {
  for (const host of ['0.0.0.0', '::', '192.168.1.5', 'cam.example']) {
    t.throws(() => resolveHttpSecurity(http({ host }), {}, '.'), { code: 'HTTP_AUTH_REQUIRED', message: /http\.token in the config, or the HEART_TOKEN environment variable.*http\.auth: none/ }, host)
  }
  for (const host of ['127.0.0.1', '127.3.4.5', '::1', 'localhost']) t.same(resolveHttpSecurity(http({ host }), {}, '.'), { token: null, tls: null, openToNetwork: false }, `${host} needs no token`)
  t.same(resolveHttpSecurity(http({ host: '0.0.0.0', auth: 'none' }), {}, '.'), { token: null, tls: null, openToNetwork: true }, 'auth: none opens it, on purpose')
  t.throws(() => resolveHttpSecurity(http({ auth: 'token' }), {}, '.'), { code: 'HTTP_AUTH_REQUIRED' }, 'auth: token without one')
})

t.test('the token: config or HEART_TOKEN (which wins); bad ones are named without being shown', async (t) => {
  t.equal(resolveHttpSecurity(http({ host: '0.0.0.0', token: TOKEN }), {}, '.').token, TOKEN)
  t.equal(resolveHttpSecurity(http({ host: '0.0.0.0', token: TOKEN }), { HEART_TOKEN: `${TOKEN}-env` }, '.').token, `${TOKEN}-env`)
  for (const bad of ['short-secret', 'has a space in it here', 'ünïcødé-0123456789abc']) {
    let message = ''
    t.throws(() => {
      try {
        resolveHttpSecurity(http(), { HEART_TOKEN: bad }, '.')
      } catch (error) {
        message = (error as Error).message
        throw error
      }
    }, { code: 'HTTP_TOKEN_INVALID' })
    t.notOk(message.includes(bad), `the message does not hold ${JSON.stringify(bad)}: ${message}`)
  }
  t.throws(() => resolveHttpSecurity(http({ auth: 'none', token: TOKEN }), {}, '.'), { code: 'HTTP_AUTH_CONFLICT', message: /http\.token/ })
  const dir = t.testdir({ 'heart.yaml': 'http: { token: "sEcReT-1234", allowedHosts: ["cam.example", "bad host"] }\n' })
  let message = ''
  try {
    loadHeartConfig(join(dir, 'heart.yaml'))
  } catch (error) {
    message = (error as Error).message
  }
  t.match(message, /http\.token: got a token of 11 characters, expected at least 16/)
  t.match(message, /http\.allowedHosts\[1\]: got "bad host"/)
  t.notMatch(message, 'sEcReT-1234', 'a wrong token is not quoted')
})

t.test('TLS files: read relative to the config file; unreadable or mismatched is a named error', { skip: !existsSync('/usr/bin/openssl') && 'needs openssl' }, async (t) => {
  const dir = t.testdir({ 'garbage.pem': 'not a certificate\n' })
  const make = (name: string) =>
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  make('a')
  make('b')
  const tls = resolveHttpSecurity(http({ tls: { cert: 'a.crt', key: 'a.key' } }), {}, dir).tls
  t.ok(tls && tls.cert.toString().includes('BEGIN CERTIFICATE'), 'read from the config directory')
  t.throws(() => resolveHttpSecurity(http({ tls: { cert: 'missing.crt', key: 'a.key' } }), {}, dir), { code: 'HTTP_TLS_UNREADABLE', message: /http\.tls\.cert: cannot read .*missing\.crt: ENOENT/ })
  t.throws(() => resolveHttpSecurity(http({ tls: { cert: 'a.crt', key: 'b.key' } }), {}, dir), { code: 'HTTP_TLS_UNREADABLE', message: /cannot be used/ })
  t.throws(() => resolveHttpSecurity(http({ tls: { cert: 'garbage.pem', key: 'a.key' } }), {}, dir), { code: 'HTTP_TLS_UNREADABLE' })
})

t.test('heart run --http 0.0.0.0:PORT without a token: exit 2, a named error, nothing started', async (t) => {
  const env = { ...process.env, HEART_TOKEN: '' }
  const run = spawnSync(process.execPath, [BIN, 'run', '--source', 'synthetic://?size=64x64&fps=10', '--http', '0.0.0.0:0', '--duration', '5'], { encoding: 'utf8', env, timeout: 30_000 })
  t.equal(run.status, 2)
  t.match(run.stderr, /^heart: http\.host 0\.0\.0\.0 serves other machines, and no token is set: set a token: .*HEART_TOKEN.* \[HTTP_AUTH_REQUIRED\]\n$/)
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
  t.notMatch(run.stdout, /heart running/, 'nothing started')
})

t.test('heart run with http.auth: none on 0.0.0.0 starts and warns once; with a token it never prints it', async (t) => {
  const dir = t.testdir({
    'open.yaml': 'source: "synthetic://?size=64x64&fps=10"\nconsumers: []\nthermal: { enabled: false }\nhttp: { host: 0.0.0.0, port: 0, auth: none }\n',
    'closed.yaml': `source: "synthetic://?size=64x64&fps=10"\nconsumers: []\nthermal: { enabled: false }\nhttp: { host: 0.0.0.0, port: 0, token: "${TOKEN}" }\n`,
  })
  const env = { ...process.env, HEART_TOKEN: '' }
  const open = spawnSync(process.execPath, [BIN, 'run', '--config', join(dir, 'open.yaml'), '--duration', '1.5'], { encoding: 'utf8', env, timeout: 60_000 })
  t.equal(open.status, 0, open.stderr)
  const output = open.stdout + open.stderr
  t.equal(output.split('\n').filter((l) => /no token \(http\.auth: none\)/.test(l)).length, 1, 'one warning')
  const summary = join(dir, 'summary.json')
  const closed = spawnSync(process.execPath, [BIN, 'run', '--config', join(dir, 'closed.yaml'), '--duration', '1.5', '--summary', summary], { encoding: 'utf8', env, timeout: 60_000 })
  t.equal(closed.status, 0, closed.stderr)
  t.match(closed.stdout + closed.stderr, /"auth":"token"/)
  t.notMatch(closed.stdout + closed.stderr, TOKEN, 'not in the logs or the status line')
  t.notMatch(readFileSync(summary, 'utf8'), TOKEN, 'not in the summary')
})

t.test('heart run with http.tls serves HTTPS with the config-relative files, and the token', { skip: !existsSync('/usr/bin/openssl') && 'needs openssl' }, async (t) => {
  const dir = t.testdir({
    'heart.yaml': 'source: "synthetic://?size=64x64&fps=10"\nconsumers: []\nthermal: { enabled: false }\nhttp: { host: 0.0.0.0, port: 0, tls: { cert: tls/cert.pem, key: tls/key.pem } }\n',
    tls: {},
  })
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'tls', 'key.pem'), '-out', join(dir, 'tls', 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' })
  const lines: string[] = []
  const logger = { debug() {}, info: (msg: string, f?: Record<string, unknown>) => void lines.push(`${msg} ${JSON.stringify(f)}`), warn() {}, error() {} }
  const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), status: false, logger, env: { HEART_TOKEN: TOKEN } })
  t.teardown(() => heart.stop())
  t.equal(heart.http.tls, true)
  t.match(lines.join('\n'), new RegExp(`heart running .*"http":"https://0\\.0\\.0\\.0:${heart.http.port}".*"auth":"token"`))
  t.notMatch(lines.join('\n'), TOKEN, 'the token is not logged')
  const ca = readFileSync(join(dir, 'tls', 'cert.pem'))
  t.equal((await ask(heart.http.port, { path: '/health', ca })).status, 401)
  const ok = await ask(heart.http.port, { path: '/health', ca, headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.status, 200)
  t.notMatch(ok.body, TOKEN, 'not in /health')
})
