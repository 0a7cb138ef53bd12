// Credentials in RTSP URLs: passwords holding any character (space, / # ? @
// : %, non-ASCII), written raw or percent-encoded, open a real camera (the
// GStreamer server with basic auth) and never appear in what heart prints.
import t from 'tap'
import { nativeOpener } from '../../src/native-source.js'
import { redactText, redactUrl, secretsOf } from '../../src/redact.js'
import { nativeSpec, parseSource } from '../../src/sources/registry.js'
import type { CaptureError } from '../../src/errors.js'
import type { OpenRequest } from '../../src/decoder.js'
import type { SourceSpec } from '../../src/types.js'
import { clip } from '../support/media.js'
import { startRtspServer, type RtspServer } from '../support/rtsp-server.js'

/** One user per awkward character, and one with all of them. */
const PASSWORDS: Record<string, string> = {
  space: 'with space',
  slash: 'sl/ash',
  hash: 'ha#sh',
  query: 'qu?ery',
  at: 'a@t@',
  colon: 'co:lo:n',
  percent: 'per%cent',
  unicode: 'ünï€ode',
  everything: 'p a/s#s?@:%é',
}

let server: RtspServer
t.before(async () => {
  const file = await clip({ codec: 'h264', width: 320, height: 240, fps: 30, seconds: 1 })
  server = await startRtspServer({ mounts: { '/cam': file }, auth: Object.entries(PASSWORDS).map(([user, password]) => `${user}:${password}`) })
})
t.teardown(() => server?.stop())

function request(spec: SourceSpec): OpenRequest {
  return { spec, pixFmt: 'yuv420p', expect: { maxSize: { width: 640, height: 480 } }, timeoutMs: 10_000, decodeThreads: 1, decoder: 'software' }
}

/** Every piece of the password a careless redaction could leave (a word of it, its encoded form). */
function leaks(text: string, password: string): string[] {
  const pieces = [password, encodeURIComponent(password), ...password.split(/[\s/#?@:%]/).filter((p) => p.length >= 3)]
  return pieces.filter((p) => text.includes(p))
}

for (const [user, password] of Object.entries(PASSWORDS)) {
  for (const spelling of ['raw', 'encoded'] as const) {
    t.test(`${user} password (${JSON.stringify(password)}), written ${spelling}`, async (t) => {
      const secret = spelling === 'raw' ? password : encodeURIComponent(password)
      const url = server.url('/cam', `${user}:${secret}`)
      const spec = parseSource(url)
      t.match(spec, { kind: 'rtsp', host: '127.0.0.1', port: server.port, path: '/cam', hasCredentials: true, credentials: { user, password } })
      t.same(leaks(spec.redacted, password), [], `redacted: ${spec.redacted}`)
      t.same(leaks(redactUrl(url), password), [], 'redactUrl of the URL')
      t.same(leaks(nativeSpec(spec)!.redacted, password), [], 'the spec the crate prints from')

      const open = await nativeOpener()
      const src = await open(request(spec), new AbortController().signal)
      t.teardown(() => src.close())
      t.match(src.info, { codec: 'h264', width: 320, height: 240 }, 'the camera accepted the password')

      const wrong = parseSource(server.url('/cam', `${user}:${secret}x`))
      const err = (await open(request(wrong), new AbortController().signal).then(() => null, (e: unknown) => e)) as CaptureError | null
      t.equal(err?.code, 'AUTH_FAILED', 'a wrong password is named as such')
      t.same(leaks(err?.message ?? '', password), [], `the error names no secret: ${err?.message}`)
      const ffmpegSays = `DESCRIBE ${nativeSpec(spec)!.target} failed for ${user}:${password} (${encodeURIComponent(password)})`
      t.same(leaks(redactText(ffmpegSays, secretsOf(url)), password), [], 'a decoder message quoting the URL or the password in any spelling is scrubbed')
    })
  }
}

t.test('an @ in a path or query is not taken for credentials', async (t) => {
  t.match(parseSource('rtsp://cam/live?email=ops@example.com'), { host: 'cam', hasCredentials: false })
  t.match(parseSource('rtsp://u:p@cam/live@2'), { host: 'cam', path: '/live@2', credentials: { user: 'u', password: 'p' } })
})

t.test('credentials heart cannot tell from the host are refused, and masked', async (t) => {
  const failure = (() => {
    try {
      parseSource('rtsp://op:se?cret@cam')
    } catch (error) {
      return error as CaptureError
    }
    throw new Error('accepted')
  })()
  t.equal(failure.code, 'INVALID_SOURCE')
  t.notMatch(failure.message, /se\?cret|cret/, failure.message)
})
