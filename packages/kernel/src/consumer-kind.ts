// What a consumer kind is: one module, owned by the package that implements
// the consumer, exporting one ConsumerKind. The CLI merges the kinds into a
// registry; the config schema takes each kind's options schema from it, so
// a new kind is its worker, its kind module and one line in the registry.
import type { FrameRing } from '@heart/ring'
import type { Kernel } from './kernel.js'
import type { ConsumerConfig } from './config.js'
import { closest, show, type Schema } from './schema.js'
import type { HttpRoute } from './types.js'

/** What a started consumer kind gives back to `heart run` (most give nothing). */
export interface StartedConsumer {
  routes?: HttpRoute[]
  /** Extra fields for /health. */
  health?: () => Record<string, unknown>
  stop?: () => void
}

/** What `heart run` hands a kind when it starts one of its consumers. */
export interface ConsumerKindContext {
  kernel: Kernel
  /** The kernel ring name of the camera. */
  ring: string
  /** The camera source is synthetic:// (the verify kind checks its pattern). */
  synthetic: boolean
  /** The thermal ring, when a thermal sensor runs (the live view draws it). */
  thermalRing: FrameRing | null
  /** The folder of the config file (paths in options are relative to it); the working folder without one. */
  configDir: string
}

/** A consumer entry of the config after validation: `options` is what the kind's schema gave back. */
export type ConsumerEntry<O = unknown> = Omit<ConsumerConfig, 'options'> & { options: O }

export interface ConsumerKind<O = unknown> {
  /** The `kind:` word in the config. */
  name: string
  /** One line for `heart config schema` and the docs. */
  description: string
  /** The entry names an ES module (`module: PATH`); only such a kind may, and it must. */
  takesModule?: boolean
  /** Checks `options` (strict: an unknown key is an error) and fills their defaults. */
  options: Schema<O>
  /**
   * Checks that need the file system or an import (a module file exists and
   * exports a setup function), before anything starts. Returns problems as
   * heart's problem lines; empty when all is well.
   */
  check?(entry: ConsumerEntry<O>, where: { configDir: string; path: string }): Promise<string[]>
  start(entry: ConsumerEntry<O>, ctx: ConsumerKindContext): StartedConsumer | Promise<StartedConsumer>
}

/** Ring options every kind honours from the config's consumer entry. */
export function ringOptionsOf(entry: Pick<ConsumerConfig, 'depth' | 'fpsCap' | 'skipAiLocked'>): { depth?: number; fpsCap?: number; skipAiLocked?: boolean } {
  const o: { depth?: number; fpsCap?: number; skipAiLocked?: boolean } = {}
  if (entry.depth !== undefined) o.depth = entry.depth
  if (entry.fpsCap !== undefined) o.fpsCap = entry.fpsCap
  if (entry.skipAiLocked !== undefined) o.skipAiLocked = entry.skipAiLocked
  return o
}

/** Makes a kind with its option types checked against its schema. */
export function defineConsumerKind<O>(kind: ConsumerKind<O>): ConsumerKind<O> {
  return kind
}

// A registry holds kinds of any option type: each kind's start gets the options its own schema gave back.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyConsumerKind = ConsumerKind<any>

/**
 * The consumer kinds `heart run` knows, by `kind:` word. A null-prototype
 * object, so a kind named `__proto__` or `constructor` in a config is simply
 * not found (a named error), never Object's own property.
 */
export type ConsumerKindRegistry = Readonly<Record<string, AnyConsumerKind>>

/** Merges kinds into a registry; two kinds with one name are a programming error. */
export function consumerKindRegistry(kinds: readonly AnyConsumerKind[]): ConsumerKindRegistry {
  const registry = Object.create(null) as Record<string, AnyConsumerKind>
  for (const kind of kinds) {
    if (Object.hasOwn(registry, kind.name)) throw new Error(`two consumer kinds are named "${kind.name}"`)
    registry[kind.name] = kind
  }
  return Object.freeze(registry)
}

/** The kind of that name, or undefined (never an inherited property). */
export function findConsumerKind(registry: ConsumerKindRegistry, name: string): AnyConsumerKind | undefined {
  return Object.hasOwn(registry, name) ? registry[name] : undefined
}

/** heart's wording of an unknown kind: what was found, the kinds there are, the likely one. */
export function unknownKindText(registry: ConsumerKindRegistry, name: unknown): string {
  const names = Object.keys(registry)
  const near = typeof name === 'string' ? closest(name, names) : undefined
  return `got ${show(name)}, allowed: ${names.join(' | ')}${near ? ` (did you mean "${near}"?)` : ''}`
}
