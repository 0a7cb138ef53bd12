import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { array, boolean, integer, number, object, optional, section, string, validate, type Infer, type Schema } from './schema.js'
import { configError, configUnreadable } from './errors.js'

/** The kernel's own sections of heart's config. Other packages add theirs. */
export const kernelConfigShape = {
  loop: object({
    /** Target period between main-loop ticks. */
    periodMs: number({ min: 1, max: 100, default: 5 }),
    /** A tick gap above this is logged and counted as late. */
    warnGapMs: number({ min: 1, max: 1000, default: 8 }),
    /** Events delivered per tick at most (the rest wait a tick). */
    eventsPerTick: integer({ min: 1, max: 100_000, default: 256 }),
    eventQueueCapacity: integer({ min: 16, max: 1_000_000, default: 4096 }),
  }),
  http: object({
    host: string({ default: '127.0.0.1' }),
    port: integer({ min: 0, max: 65535, default: 8080 }),
  }),
  health: object({
    /** Health turns red when the newest frame is older than this. */
    redAfterMs: integer({ min: 100, max: 3_600_000, default: 3000 }),
  }),
  ring: object({
    /** Default queue depth of a consumer. */
    depth: integer({ min: 1, max: 64, default: 2 }),
    /** Frames a consumer may hold at once. */
    maxLeases: integer({ min: 1, max: 8, default: 1 }),
    /** Spare consumer places for apps that join at run time. */
    spareConsumers: integer({ min: 0, max: 16, default: 2 }),
  }),
  supervisor: object({
    restartInitialMs: integer({ min: 10, max: 60_000, default: 200 }),
    restartMaxMs: integer({ min: 10, max: 600_000, default: 10_000 }),
    stopTimeoutMs: integer({ min: 100, max: 60_000, default: 2000 }),
    /** Worker threads run this much nicer than the main thread (Linux; 0 = same). */
    workerNice: integer({ min: 0, max: 19, default: 5 }),
  }),
}

/** A consumer worker declared in the config. */
export const consumerConfigSchema = object({
  name: string({ pattern: /^[a-z][a-z0-9_]{0,31}$/, hint: 'a name of lower-case letters, digits and _ (at most 32)' }),
  kind: string({ hint: 'a consumer kind (see docs/configuration.md)' }),
  depth: optional(integer({ min: 1, max: 64 })),
  fpsCap: optional(number({ min: 0.1, max: 1000 })),
  skipAiLocked: optional(boolean()),
  enabled: boolean({ default: true }),
  /** Options specific to the kind, passed to its worker as is. */
  /** Checked by the consumer's kind when it starts. */
  options: optional(section()),
})
export type ConsumerConfig = Infer<typeof consumerConfigSchema>

export const consumerListSchema = array(consumerConfigSchema, { default: [], maxItems: 30 })


/**
 * Reads a config file (YAML or JSON). A missing or unparsable file is an
 * error that says which file and why; an empty file is an empty config.
 */
export function readConfigFile(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw configUnreadable(file, error)
  }
  try {
    if (extname(file).toLowerCase() === '.json') return JSON.parse(text)
    return parseYaml(text) ?? {}
  } catch (error) {
    throw configUnreadable(file, error)
  }
}

/** Validates raw config against a schema, throwing one error that lists every problem. */
export function parseConfig<T>(schema: Schema<T>, raw: unknown, source = 'built-in defaults'): T {
  const { value, problems } = validate(schema, raw)
  if (problems.length > 0) throw configError(problems, source)
  return value
}
