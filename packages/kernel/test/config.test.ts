import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { consumerListSchema, kernelConfigShape, object, parseConfig, readConfigFile } from '../src/index.js'

const schema = object({ ...kernelConfigShape, consumers: consumerListSchema })

t.test('no file at all runs on defaults', async (t) => {
  const config = parseConfig(schema, {})
  t.equal(config.loop.periodMs, 5)
  t.equal(config.http.port, 8080)
  t.equal(config.http.host, '127.0.0.1')
  t.same(config.consumers, [])
})

t.test('YAML and JSON files are read; errors list every bad field', async (t) => {
  const dir = t.testdir()
  const yaml = join(dir, 'heart.yaml')
  writeFileSync(yaml, 'loop:\n  periodMs: 4\nconsumers:\n  - { name: motion, kind: motion, depth: 3 }\n')
  const config = parseConfig(schema, readConfigFile(yaml), yaml)
  t.equal(config.loop.periodMs, 4)
  t.match(config.consumers[0], { name: 'motion', kind: 'motion', depth: 3, enabled: true })

  const json = join(dir, 'heart.json')
  writeFileSync(json, JSON.stringify({ http: { port: 70000 }, lop: {} }))
  t.throws(() => parseConfig(schema, readConfigFile(json), json), {
    code: 'CONFIG_INVALID',
    message: /invalid configuration \(.*heart\.json\):\n {2}- lop: unknown setting \(did you mean "loop"\?\).*\n {2}- http\.port: 70000 is out of range/s,
  })
  const empty = join(dir, 'empty.yaml')
  writeFileSync(empty, '')
  t.same(readConfigFile(empty), {})
  t.throws(() => readConfigFile(join(dir, 'missing.yaml')), { code: 'CONFIG_UNREADABLE', message: /cannot read config file .*missing\.yaml: ENOENT/ })
  const broken = join(dir, 'broken.json')
  writeFileSync(broken, '{ nope')
  t.throws(() => readConfigFile(broken), { code: 'CONFIG_UNREADABLE' })
})

t.test('containment settings: defaults for every worker, per-consumer values, bad ones named', async (t) => {
  const config = parseConfig(schema, {})
  t.equal(config.supervisor.stallMs, 5000)
  t.match(config.supervisor.resourceLimits, { maxOldGenerationSizeMb: 256, stackSizeMb: 4 })
  const own = parseConfig(schema, { consumers: [{ name: 'motion', kind: 'motion', stallMs: 2000, resourceLimits: { maxOldGenerationSizeMb: 64 } }] })
  t.match(own.consumers[0], { stallMs: 2000, resourceLimits: { maxOldGenerationSizeMb: 64 } })
  t.throws(
    () =>
      parseConfig(schema, {
        supervisor: { stallMs: 10, resourceLimits: { maxOldGenerationSizeMb: 'lots', maxHeapMb: 1 } },
        consumers: [{ name: 'motion', kind: 'motion', stallMs: -1 }],
      }),
    {
      code: 'CONFIG_INVALID',
      message: /supervisor\.stallMs: 10 is out of range.*supervisor\.resourceLimits\.maxHeapMb: unknown setting.*supervisor\.resourceLimits\.maxOldGenerationSizeMb: got "lots".*consumers\[0\]\.stallMs: -1 is out of range/s,
    },
  )
})
