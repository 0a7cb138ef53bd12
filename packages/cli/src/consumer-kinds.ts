// The consumer kinds `heart run` knows, merged from the packages that own
// them (vision: motion, detection; stream: encoder), plus the two the CLI
// owns: `verify` and `module`, an application's own consumer from its config
// file. A new kind is its package's kind module and one line here; a kind
// whose worker is one setup function is one file (consumers/worker-kind.ts).
import { stat } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  consumerKindRegistry,
  defineConsumerKind,
  findConsumerKind,
  ringOptionsOf,
  section,
  show,
  unknownKindText,
  z,
  type ConsumerEntry,
  type ConsumerKindContext,
  type ConsumerKindRegistry,
  type StartedConsumer,
} from '@heart/kernel'
import { detectionKind, motionKind } from '@heart/vision'
import { encoderKind } from '@heart/stream'
import { tamperKind } from './consumers/tamper.js'
import { startSetupWorker } from './consumers/worker-kind.js'
import { usage } from './errors.js'

export type { ConsumerKindContext, StartedConsumer } from '@heart/kernel'

interface VerifyOptions {
  /** Emit a verify.report event this often. */
  reportEveryMs?: number
  /** Hold each frame this long before re-checking it was not written to (verify-worker.ts). */
  holdMs?: number
}

/** Reads every pixel; on synthetic:// proves each frame is intact. */
export const verifyKind = defineConsumerKind<VerifyOptions>({
  name: 'verify',
  description: 'reads every pixel; on synthetic:// proves each frame is intact',
  options: z.preprocess(
    (v) => (v === null || v === undefined ? {} : v),
    z.strictObject({
      reportEveryMs: z
        .number({ error: (iss) => `got ${show(iss.input)}, expected a positive number of milliseconds` })
        .gt(0, { error: (iss) => `${show(iss.input)} is out of range, expected a positive number of milliseconds` })
        .optional(),
      holdMs: z
        .number({ error: (iss) => `got ${show(iss.input)}, expected a number of milliseconds from 0 to 1000` })
        .min(0, { error: (iss) => `${show(iss.input)} is out of range, expected a number of milliseconds from 0 to 1000` })
        .max(1000, { error: (iss) => `${show(iss.input)} is out of range, expected a number of milliseconds from 0 to 1000` })
        .optional(),
    }),
  ) as unknown as z.ZodType<VerifyOptions>,
  start(entry, ctx) {
    ctx.kernel.startConsumer({
      name: entry.name,
      entry: new URL('./consumers/verify-worker.js', import.meta.url),
      ring: ctx.ring,
      consumer: ringOptionsOf(entry),
      app: { synthetic: ctx.synthetic, ...entry.options },
    })
    return {}
  },
})

/** Where a module entry's file is: its path, relative to the config file's folder. */
export function modulePath(entry: Pick<ConsumerEntry, 'module'>, configDir: string): string {
  const path = entry.module ?? ''
  return isAbsolute(path) ? path : resolve(configDir, path)
}

/**
 * An application's consumer: `{ name, kind: module, module: PATH, options }`.
 * The module's default export is a serveConsumer setup function; heart runs
 * it in its own supervised worker, with `options` as ctx.config.app.
 */
export const moduleKind = defineConsumerKind<Record<string, unknown>>({
  name: 'module',
  description: "an application's own consumer: module: PATH (relative to the config file) whose default export is a serveConsumer setup function",
  takesModule: true,
  // The options are the module's own: heart passes them on as written.
  options: section(),
  async check(entry, where) {
    const file = modulePath(entry, where.configDir)
    const at = `${where.path}.module`
    try {
      if (!(await stat(file)).isFile()) return [`${at}: ${show(entry.module)} is not a file (${file})`]
    } catch {
      return [`${at}: no file at ${show(entry.module)} (looked for ${file}, relative to the config file's folder)`]
    }
    let exported: unknown
    try {
      exported = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default
    } catch (error) {
      return [`${at}: ${file} could not be imported: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`]
    }
    if (typeof exported !== 'function') {
      return [`${at}: ${file} has ${exported === undefined ? 'no default export' : `a default export that is ${typeof exported}`}, expected a function (a serveConsumer setup function, see docs/consumers.md)`]
    }
    return []
  },
  start(entry, ctx) {
    startSetupWorker(entry, ctx, pathToFileURL(modulePath(entry, ctx.configDir)).href)
    return {}
  },
})

/** Every consumer kind `heart run` knows. */
export const consumerKinds: ConsumerKindRegistry = consumerKindRegistry([verifyKind, motionKind, detectionKind, encoderKind, tamperKind, moduleKind])

/**
 * The checks that need the whole list or the file system, before anything
 * starts: each name once, at most one encoder, each kind's own check (a
 * module file exists and exports a function). Problems in heart's wording.
 */
export async function checkConsumers(entries: readonly ConsumerEntry[], configDir: string, registry: ConsumerKindRegistry = consumerKinds, listPath = 'consumers'): Promise<string[]> {
  const problems: string[] = []
  const seen = new Map<string, number>()
  let encoders = 0
  for (const [i, entry] of entries.entries()) {
    if (!entry.enabled) continue
    const path = `${listPath}[${i}]`
    const first = seen.get(entry.name)
    if (first !== undefined) problems.push(`${path}.name: "${entry.name}" is used twice (also ${listPath}[${first}]); each consumer needs its own name`)
    else seen.set(entry.name, i)
    if (entry.kind === encoderKind.name && ++encoders === 2) problems.push(`${path}.kind: at most one encoder (it serves the live view routes)`)
    const kind = findConsumerKind(registry, entry.kind)
    if (!kind) problems.push(`${path}.kind: ${unknownKindText(registry, entry.kind)}`)
    else if (kind.check) problems.push(...(await kind.check(entry, { configDir, path })))
  }
  return problems
}

/** Starts one configured consumer; a failure names the consumer. */
export async function startConsumerKind(entry: ConsumerEntry, ctx: ConsumerKindContext, registry: ConsumerKindRegistry = consumerKinds): Promise<StartedConsumer> {
  const kind = findConsumerKind(registry, entry.kind)
  if (!kind) throw usage(`consumers: "${entry.name}" has kind ${unknownKindText(registry, entry.kind)}`)
  // The entry's watchdog time and heap limits apply whichever kind starts its worker.
  ctx.kernel.setConsumerSupervision(entry.name, { stallMs: entry.stallMs, resourceLimits: entry.resourceLimits }, ctx.ring)
  try {
    return await kind.start(entry, ctx)
  } catch (error) {
    if (error instanceof Error) error.message = `consumers: "${entry.name}" (${entry.kind}): ${error.message}`
    throw error
  }
}
