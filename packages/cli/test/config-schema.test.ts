// `heart config schema` and the settings page: the JSON Schema is drawn from
// the validator, and docs/configuration.md's default block is checked against
// that schema, so neither the page nor the schema can drift from what heart
// really accepts and fills in.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readConfigFile } from '@heart/kernel'
import { resolveThermalConfig } from '@heart/thermal'
import t from 'tap'
import { defaultConsumers, loadHeartConfig } from '../src/config.js'
import { heartConfigJsonSchema } from '../src/config-schema.js'
import { consumerKinds } from '../src/consumer-kinds.js'

type Json = Record<string, unknown>

const docsUrl = new URL('../../../../docs/configuration.md', import.meta.url)

/** The YAML block under "## Settings and defaults", parsed the way heart reads a config file. */
function documentedDefaults(dir: string): Json {
  const page = readFileSync(docsUrl, 'utf8')
  const section = page.slice(page.indexOf('## Settings and defaults'))
  const block = /```yaml\n([^]*?)```/.exec(section)
  if (!block) throw new Error('docs/configuration.md has no yaml block under "Settings and defaults"')
  const file = join(dir, 'documented.yaml')
  writeFileSync(file, block[1]!)
  return readConfigFile(file)
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Every property path of the schema that has a default of its own, with that default (objects are walked, not compared). */
function schemaDefaults(schema: Json, path: string[] = [], out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [key, property] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    const at = [...path, key]
    // An object without a default of its own (thermal.drift) is off unless written: its inner defaults apply only then.
    if (property.type === 'object' && property.properties) {
      if (path.length === 0 || 'default' in property) schemaDefaults(property, at, out)
    }
    else if ('default' in property) out.set(at.join('.'), property.default)
  }
  return out
}

/** The schema node at a dotted path, or undefined when the schema has no such setting. */
function schemaAt(schema: Json, path: string[]): Json | undefined {
  let node: Json | undefined = schema
  for (const key of path) node = (node?.properties as Record<string, Json> | undefined)?.[key]
  return node
}

/** Every leaf the page writes (objects walked; lists and `{}` are leaves), as dotted path -> value. */
function documentedLeaves(value: Json, path: string[] = [], out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [key, entry] of Object.entries(value)) {
    const at = [...path, key]
    if (isObject(entry) && Object.keys(entry).length > 0) documentedLeaves(entry, at, out)
    else out.set(at.join('.'), entry)
  }
  return out
}

t.test('docs/configuration.md writes every setting that has a default, with that default', async (t) => {
  const schema = heartConfigJsonSchema()
  const documented = documentedLeaves(documentedDefaults(t.testdir({})))
  for (const [path, value] of schemaDefaults(schema)) {
    t.ok(documented.has(path), `${path} is on the page`)
    if (documented.has(path)) t.same(documented.get(path), value, `${path}: the page says the real default`)
  }
})

t.test('docs/configuration.md names no setting the schema does not have', async (t) => {
  const schema = heartConfigJsonSchema()
  for (const path of documentedLeaves(documentedDefaults(t.testdir({}))).keys()) {
    t.ok(schemaAt(schema, path.split('.')), `${path} is a real setting`)
  }
})

t.test('the page\'s block is a valid config that means the same as no file at all', async (t) => {
  const dir = t.testdir({})
  documentedDefaults(dir)
  const { thermal: documentedThermal, ...documented } = loadHeartConfig(join(dir, 'documented.yaml'))
  const { thermal: absentThermal, ...defaults } = loadHeartConfig(undefined)
  t.same(documented, defaults)
  // An absent thermal section stays absent and the thermal service fills its defaults when it starts
  // (resolveThermalConfig): the page's values, which the first test holds to the schema, must be those.
  t.equal(absentThermal, undefined)
  const resolved = resolveThermalConfig({}) as unknown as Json
  for (const [key, value] of Object.entries(documentedThermal as Json)) t.same(value, resolved[key], `thermal.${key}: the default the thermal service applies`)
})

t.test('the schema lists every consumer kind and checks each kind\'s own options', async (t) => {
  const schema = heartConfigJsonSchema()
  const consumers = schemaAt(schema, ['consumers'])!
  const entry = consumers.items as Json
  t.same((entry.properties as Record<string, Json>).kind!.enum, Object.keys(consumerKinds), 'kind: one of the registry\'s kinds')
  const branches = entry.allOf as { if: Json; then: { properties: { options: Json } } }[]
  t.same(
    branches.map((branch) => ((branch.if.properties as Record<string, Json>).kind as { const: string }).const),
    Object.keys(consumerKinds),
    'one options branch per kind',
  )
  const encoder = branches.find((branch) => JSON.stringify(branch.if).includes('"encoder"'))!
  t.ok(schemaAt(encoder.then.properties.options, ['fps']), 'the encoder branch knows its fps option')
  t.same(
    consumers.default,
    defaultConsumers().map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined))),
    'the default consumer list is the one heart run starts',
  )
  t.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema')
  t.equal((schemaAt(schema, ['source']) as Json).default, 'testsrc://?size=1920x1080&fps=60')
})
