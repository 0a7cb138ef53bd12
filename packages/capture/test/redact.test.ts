import t from 'tap'
import { redactText, redactUrl, secretsOf } from '../src/redact.js'

t.test('redactUrl removes userinfo and secret query values', async (t) => {
  t.equal(redactUrl('rtsp://admin:hunter2@10.0.0.5:554/s1'), 'rtsp://***@10.0.0.5:554/s1')
  t.equal(redactUrl('rtsp://admin@10.0.0.5/s1'), 'rtsp://***@10.0.0.5/s1')
  t.equal(redactUrl('rtsp://a:p@ss@word@host/x'), 'rtsp://***@host/x', 'raw @ in the password')
  t.equal(redactUrl('rtsp://host/x?user=admin&password=hunter2&channel=1'), 'rtsp://host/x?user=***&password=***&channel=1')
  t.equal(redactUrl('rtsp://host/x'), 'rtsp://host/x', 'nothing to hide')
  t.equal(redactUrl('not a url'), 'not a url')
})

t.test('redactText scrubs URLs inside messages and literal secrets', async (t) => {
  const msg = "Connection to rtsp://admin:hunter2@cam/s1 failed; server said 401 for user 'admin' pass hunter2"
  const out = redactText(msg, secretsOf('rtsp://admin:hunter2@cam/s1'))
  t.notMatch(out, /hunter2/)
  t.notMatch(out, /admin/)
  t.match(out, /rtsp:\/\/\*\*\*@cam\/s1/)
  const encoded = redactText('auth for p@ss failed', secretsOf('rtsp://u:p%40ss@cam/'))
  t.notMatch(encoded, /p@ss/, 'percent-decoded spellings are scrubbed too')
  t.equal(redactText('x', ['']), 'x', 'empty secrets are ignored')
  t.equal(redactText('a b', ['a']), 'a b', 'single characters are not treated as secrets')
})

t.test('secretsOf', async (t) => {
  t.same(secretsOf('rtsp://user:pw%21@h/'), ['user', 'pw%21', 'pw!'])
  t.same(secretsOf('rtsp://h/?token=abc'), ['abc'])
  t.same(secretsOf('rtsp://h/'), [])
  t.same(secretsOf('rtsp://u:%zz@h/'), ['u', '%zz', '%25zz'], 'malformed escapes keep the raw spelling (and the encoded one the decoder is handed)')
})
