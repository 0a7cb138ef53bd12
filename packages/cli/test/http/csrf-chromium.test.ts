// CSRF in a real browser (Debian's chromium): an operator logged in to the
// live view opens a hostile page on another origin of the same machine
// (same site, so even a SameSite=Strict cookie goes along), and that page
// submits <form method=post> to POST /camera/down the ways a form can
// (urlencoded, text/plain). The AI-lock must stay off. heart is a real
// `heart run` on the synthetic camera, with a token.
import t from 'tap'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { CHROMIUM, openChromiumPage } from '@heart/stream/testing'
import { runHeart } from '../../src/run.js'

const TOKEN = 'csrf-test-token-0123456789abcdef'

t.test('a hostile page cannot put the camera down, even with the operator logged in', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` }, async (t) => {
  const dir = t.testdir({
    'heart.yaml': [
      'source: "synthetic://?size=320x180&fps=30"',
      'http: { port: 0 }',
      'thermal: { enabled: false }',
      'consumers:',
      '  - { name: telemetry_stream, kind: encoder, depth: 3, options: { fps: 10 } }',
      '',
    ].join('\n'),
  })
  const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), status: false, logger: silentLogger, env: { HEART_TOKEN: TOKEN } })
  t.teardown(() => heart.stop())
  const base = `http://127.0.0.1:${heart.http.port}`
  const aiLocked = async (): Promise<boolean> => {
    const health = (await (await fetch(`${base}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { camera: { ai_locked: boolean } }
    return health.camera.ai_locked
  }

  // The hostile site: another port of 127.0.0.1, one page per form encoding, each submitting itself.
  const hostile = createServer((req, res) => {
    const enctype = req.url === '/text' ? 'text/plain' : 'application/x-www-form-urlencoded'
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(`<!doctype html><form method="post" action="${base}/camera/down" enctype="${enctype}"><input name="lock" value="1"></form><script>document.forms[0].submit()</script>`)
  })
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => hostile.close(resolve)))
  const hostileBase = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`

  const { page, pageErrors } = await openChromiumPage(base, t.teardown.bind(t))
  // The operator logs in once through the form, and the live view runs on the cookie.
  const login = await page.goto(`${base}/`)
  t.equal(login?.status(), 401, 'the login form first')
  await page.fill('#token', TOKEN)
  await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')])
  // A string: this package compiles without the DOM types.
  await page.waitForFunction("document.getElementById('video')?.naturalWidth === 320", null, { timeout: 30_000 })
  t.pass('the live view streams video on the session cookie')
  const cookies = await page.context().cookies(base)
  t.match(cookies, [{ name: 'heart_session', httpOnly: true, sameSite: 'Strict' }])
  t.notOk(cookies.some((c) => c.value.includes(TOKEN)), 'the cookie does not hold the token')

  for (const form of ['/urlencoded', '/text']) {
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url() === `${base}/camera/down`), page.goto(`${hostileBase}${form}`)])
    t.equal(answer.status(), 403, `${form}: refused`)
    t.equal(await aiLocked(), false, `${form}: the AI-lock stays off`)
  }

  // The control: heart's own page can switch it, so the refusals above are not a broken route.
  await page.goto(`${base}/`)
  const status = await page.evaluate(() => fetch('/camera/down', { method: 'POST' }).then((r) => r.status))
  t.equal(status, 200, 'same-origin POST from the live view')
  t.equal(await aiLocked(), true)
  t.same(pageErrors, [], 'no page errors')
})
