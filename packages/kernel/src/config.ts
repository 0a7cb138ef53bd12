import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { parseDocument } from 'yaml'
import { z } from 'zod'
import { array, boolean, heartIssueText, integer, number, object, optional, section, show, string, validate, type Infer, type Schema } from './schema.js'
import { findConsumerKind, unknownKindText, type ConsumerEntry, type ConsumerKindRegistry } from './consumer-kind.js'
import { configError, configUnreadable } from './errors.js'
import { DEFAULT_STALL_MS } from './watchdog.js'

/**
 * V8 heap limits of a worker thread (Node's Worker `resourceLimits`), in MiB.
 * With `defaults`, the supervisor's (every worker); without, a consumer's
 * own, over those.
 */
function resourceLimitsSchema(defaults: { maxOldGenerationSizeMb?: number; stackSizeMb?: number }) {
  const mb = (min: number, max: number, fallback?: number) => (fallback === undefined ? optional(integer({ min, max })) : integer({ min, max, default: fallback }))
  return object({
    /** The old-generation heap, where long-lived objects (and hoarded ones) live. */
    maxOldGenerationSizeMb: mb(16, 65_536, defaults.maxOldGenerationSizeMb),
    /** The young generation; V8 picks it when absent. */
    maxYoungGenerationSizeMb: optional(integer({ min: 1, max: 4096 })),
    /** Generated code; V8 picks it when absent. */
    codeRangeSizeMb: optional(integer({ min: 1, max: 4096 })),
    /** The thread's stack. */
    stackSizeMb: mb(1, 256, defaults.stackSizeMb),
  })
}

/** Default old-generation heap limit of every worker, MiB (docs/configuration.md). */
export const DEFAULT_WORKER_HEAP_MB = 256

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
    /** Worker threads start one after another, this many ms after the one before has loaded (0 = all at once). */
    startSpacingMs: integer({ min: 0, max: 10_000, default: 200 }),
    /** A consumer with frames queued that finishes none for this long is terminated and restarted (reason `stalled`). */
    stallMs: integer({ min: 100, max: 3_600_000, default: DEFAULT_STALL_MS }),
    /** Heap limits of every worker; one that exceeds them is restarted (reason `out_of_memory`). */
    resourceLimits: resourceLimitsSchema({ maxOldGenerationSizeMb: DEFAULT_WORKER_HEAP_MB, stackSizeMb: 4 }),
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
  /** This consumer's watchdog time (default supervisor.stallMs). */
  stallMs: optional(integer({ min: 100, max: 3_600_000 })),
  /** This consumer's heap limits, over supervisor.resourceLimits. */
  resourceLimits: optional(resourceLimitsSchema({})),
  /** For kind `module`: the ES module (a path relative to the config file) whose default export sets the consumer up. */
  module: optional(string({ hint: 'a path to an ES module, relative to the config file' })),
  /** Options specific to the kind: each kind's schema checks them (the CLI joins kinds and schemas). */
  options: optional(section()),
})
type SupervisionKeys = 'stallMs' | 'resourceLimits'
/** The supervision keys are optional in the type too, so code that builds entries by hand (tests, benches) need not name them. */
export type ConsumerConfig = Omit<Infer<typeof consumerConfigSchema>, SupervisionKeys> & Partial<Pick<Infer<typeof consumerConfigSchema>, SupervisionKeys>>

export const consumerListSchema = array(consumerConfigSchema, { default: [], maxItems: 30 })

/** Consumers a config may list at most. */
export const MAX_CONSUMERS = 30

/**
 * The consumer list checked against the kinds of a registry: an unknown kind
 * is named with the kinds there are, and each entry's options are checked by
 * its kind's schema in the same pass, so their problems are reported with
 * every other problem of the file (paths like consumers[1].options.fps).
 */
export function consumerListSchemaFor(registry: ConsumerKindRegistry): Schema<ConsumerEntry[]> {
  const entry = consumerConfigSchema.transform((value, ctx) => {
    const kind = findConsumerKind(registry, value.kind)
    if (!kind) {
      ctx.addIssue({ code: 'custom', path: ['kind'], message: unknownKindText(registry, value.kind) })
      return z.NEVER
    }
    if (value.module !== undefined && !kind.takesModule) {
      ctx.addIssue({ code: 'custom', path: ['module'], message: `got ${show(value.module)}, but only kind: module takes a module (this is kind: ${kind.name})` })
    }
    if (value.module === undefined && kind.takesModule) {
      ctx.addIssue({ code: 'custom', path: ['module'], message: `got nothing, expected a path to an ES module (relative to the config file) for kind: ${kind.name}` })
    }
    const options = kind.options.safeParse(value.options, { reportInput: true, error: heartIssueText })
    if (!options.success) {
      for (const issue of options.error.issues) ctx.addIssue({ ...issue, path: ['options', ...issue.path] } as never)
      return z.NEVER
    }
    return { ...value, options: options.data } as ConsumerEntry
  })
  return array(entry as unknown as Schema<ConsumerEntry>, { default: [], maxItems: MAX_CONSUMERS })
}


/** Bytes a config file may have: anything larger is not a hand-written config. */
const MAX_CONFIG_BYTES = 1024 * 1024

/**
 * Reads a config file (YAML or JSON). A missing, unparsable or non-text file
 * is an error that says which file and why, never quoting the file (it may
 * be some other file holding secrets); an empty file is an empty config. A
 * file that holds something other than a mapping of settings (`42`, `null`,
 * a sentence) is a config error naming what it holds.
 */
export function readConfigFile(file: string): Record<string, unknown> {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    throw configUnreadable(file, error)
  }
  if (bytes.length > MAX_CONFIG_BYTES) throw configUnreadable(file, new Error(`${bytes.length} bytes is not a config file (at most ${MAX_CONFIG_BYTES})`))
  const text = bytes.toString('utf8')
  if (text.includes('\u0000') || text.includes('\ufffd')) throw configUnreadable(file, new Error('it is not a text file (is it the right file?)'))
  let value: unknown
  if (extname(file).toLowerCase() === '.json') {
    try {
      value = JSON.parse(text)
    } catch {
      // JSON.parse quotes the text around the mistake: say only that it is not JSON.
      throw configUnreadable(file, new Error('it is not valid JSON'))
    }
  } else {
    const doc = parseDocument(text, { uniqueKeys: true })
    if (doc.errors.length > 0) {
      const first = doc.errors[0]!
      // The first line of a YAML error names the mistake and where; the lines after it quote the file.
      const where = first.linePos?.[0] ? ` (line ${first.linePos[0].line}, column ${first.linePos[0].col})` : ''
      throw configUnreadable(file, new Error(`it is not valid YAML: ${first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}${where}`))
    }
    // No content at all (an empty file, only comments): an empty config.
    if (doc.contents === null) return {}
    value = doc.toJS({ maxAliasCount: 100 })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const holds = value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'string' ? 'a string' : `a ${typeof value}`
    throw configError([`(top level): the file holds ${holds}, expected a mapping of settings such as "source: testsrc://" (is it the right file? see docs/configuration.md)`], file)
  }
  return value as Record<string, unknown>
}

/** Validates raw config against a schema, throwing one error that lists every problem. */
export function parseConfig<T>(schema: Schema<T>, raw: unknown, source = 'built-in defaults'): T {
  const { value, problems } = validate(schema, raw)
  if (problems.length > 0) throw configError(problems, source)
  return value
}
