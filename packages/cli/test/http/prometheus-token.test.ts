// A real Prometheus (Debian's) scrapes a heart run that has a token, with
// the scrape config docs/security.md gives; without the token /metrics is
// closed.
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { startPrometheus } from '@heart/telemetry/testing'
import { runHeart } from '../../src/run.js'

const TOKEN = 'scrape-token-0123456789abcdef'

t.test('Prometheus scrapes /metrics with the bearer token; without it /metrics answers 401', { skip: !existsSync('/usr/bin/prometheus') && 'needs /usr/bin/prometheus (Debian: prometheus)' }, async (t) => {
  const dir = t.testdir({ 'heart.yaml': 'source: "synthetic://?size=160x90&fps=30"\nhttp: { port: 0 }\nthermal: { enabled: false }\nconsumers:\n  - { name: verify, kind: verify }\n' })
  const heart = await runHeart({ configFile: join(dir, 'heart.yaml'), status: false, logger: silentLogger, env: { HEART_TOKEN: TOKEN } })
  t.teardown(() => heart.stop())
  const metrics = `http://127.0.0.1:${heart.http.port}/metrics`
  t.equal((await fetch(metrics)).status, 401, 'no token, no metrics')
  t.equal((await fetch(metrics, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401, 'a wrong token, no metrics')
  const ok = await fetch(metrics, { headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.status, 200)
  t.match(await ok.text(), /heart_frames_published_total/)

  const prometheus = await startPrometheus({ targets: [`127.0.0.1:${heart.http.port}`], scrapeIntervalS: 1, bearerToken: TOKEN })
  t.teardown(() => prometheus.stop())
  const up = await prometheus.waitFor('up{job="heart"}', (r) => r[0]?.value[1] === '1', 20_000)
  t.equal(up[0]?.value[1], '1', `the scrape succeeds with the token (${prometheus.logTail().slice(-300)})`)
  const published = await prometheus.waitFor('heart_frames_published_total', (r) => Number(r[0]?.value[1]) > 0, 20_000)
  t.ok(Number(published[0]?.value[1]) > 0, 'frames are counted in Prometheus')
})
