import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadHeartConfig } from '../src/config.js'

t.test('no file: the built-in test camera and the three standard consumers', async (t) => {
  const config = loadHeartConfig(undefined)
  t.match(config.source, /^testsrc:\/\//)
  t.same(config.consumers.map((c) => [c.name, c.kind]), [['movement_detector', 'motion'], ['detection_client', 'detection'], ['telemetry_stream', 'encoder']])
  t.same(config.http, { host: '127.0.0.1', port: 8080 })
})

t.test('command-line overrides beat the file; an explicit empty consumer list is honoured', async (t) => {
  const dir = t.testdir({ 'heart.yaml': 'source: synthetic://\nhttp: { port: 9000 }\nconsumers: []\nthermal: { hz: 10 }\n' })
  const config = loadHeartConfig(join(dir, 'heart.yaml'), { source: 'testsrc://', http: { host: '0.0.0.0', port: 1234 } })
  t.equal(config.source, 'testsrc://')
  t.same(config.http, { host: '0.0.0.0', port: 1234 })
  t.same(config.consumers, [])
  t.same(config.thermal, { hz: 10 })
})

t.test('a config typo names the field and the allowed values', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, 'sources: rtsp://cam\nloop: { periodMs: 0 }\nconsumers:\n  - { name: Motion, kind: verify }\n')
  t.throws(() => loadHeartConfig(file), {
    code: 'CONFIG_INVALID',
    message: /sources: unknown setting \(did you mean "source"\?\)[^]*loop\.periodMs: 0 is out of range[^]*consumers\[0\]\.name: got "Motion"/,
  })
  writeFileSync(file, 'camera: 5\n')
  t.throws(() => loadHeartConfig(file), { message: /camera: got 5, expected an object/ })
})
