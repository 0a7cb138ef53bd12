// `heart config schema`: heart.yaml's JSON Schema, for editors (the YAML
// language server's `# yaml-language-server: $schema=...`, VS Code's
// json.schemas) to complete and check a config as it is typed. It is drawn
// from the same zod schema that validates a file at start, so it cannot
// drift from what heart accepts; only the consumer list is filled in here,
// because each kind's options are checked by that kind's own schema.
import { jsonSchemaOf } from '@heart/kernel'
import { defaultConsumers, heartConfigSchema } from './config.js'
import { consumerKinds } from './consumer-kinds.js'

type JsonSchema = Record<string, unknown>

/** The JSON Schema (draft 2020-12) of heart's config file. */
export function heartConfigJsonSchema(): JsonSchema {
  const schema = jsonSchemaOf(heartConfigSchema)
  const properties = schema.properties as Record<string, JsonSchema>
  const consumers = properties.consumers!
  const entry = consumers.items as JsonSchema
  const entryProperties = entry.properties as Record<string, JsonSchema>
  const kinds = Object.values(consumerKinds)
  entryProperties.kind = { ...entryProperties.kind, enum: kinds.map((kind) => kind.name), description: 'the consumer kind: ' + kinds.map((kind) => `${kind.name} (${kind.description})`).join('; ') }
  // Each kind checks its own options: one if/then per kind, so an editor completes the options of the kind written.
  entry.allOf = kinds.map((kind) => ({
    if: { properties: { kind: { const: kind.name } }, required: ['kind'] },
    then: { properties: { options: withoutSchemaKey(jsonSchemaOf(kind.options)) } },
  }))
  properties.consumers = { ...consumers, default: defaultConsumers().map(writtenEntry), description: 'the workers that read the camera ring; omitted: the standard three, []: none' }
  return { $schema: schema.$schema, title: 'heart configuration (heart.yaml)', ...withoutSchemaKey(schema) }
}

/** A default consumer as a person would write it: without the keys left unset. */
function writtenEntry(entry: object): JsonSchema {
  return Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== undefined))
}

function withoutSchemaKey(schema: JsonSchema): JsonSchema {
  const { $schema: _dropped, ...rest } = schema
  void _dropped
  return rest
}
