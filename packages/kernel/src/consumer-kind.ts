// What a consumer kind is: one module, owned by the package that implements
// the consumer, exporting one ConsumerKind. The CLI merges the kinds into a
// registry; the config schema takes each kind's options schema from it, so
// a new kind is its worker, its kind module and one line in the registry.
import type { FrameRing } from '@heart/ring'
import type { Kernel } from './kernel.js'
import type { ConsumerConfig } from './config.js'
import type { Schema } from './schema.js'
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
