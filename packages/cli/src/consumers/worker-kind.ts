// A consumer kind whose worker is one setup function: the kind's file holds
// its option schema (checked in the main thread at start) and, as its default
// export, the serveConsumer-shaped setup that runs in the worker. The worker
// is module-worker.ts, the one that also runs applications' `kind: module`
// files, so a built-in kind and an app's own consumer start the same way.
// Adding such a kind is its file and one line in consumer-kinds.ts.
import { defineConsumerKind, ringOptionsOf, type ConsumerEntry, type ConsumerKind, type ConsumerKindContext, type Schema } from '@heart/kernel'
import type { ModuleWorkerApp } from './module-worker.js'

const moduleWorker = new URL('./module-worker.js', import.meta.url)

/** Starts a consumer worker that runs the default export of `setup` (a file:// URL) with the entry's options. */
export function startSetupWorker(entry: ConsumerEntry, ctx: ConsumerKindContext, setup: string): void {
  const app: ModuleWorkerApp = { module: setup, options: entry.options }
  ctx.kernel.startConsumer({ name: entry.name, entry: moduleWorker, ring: ctx.ring, consumer: ringOptionsOf(entry), app })
}

export interface WorkerKindDefinition<O> {
  name: string
  description: string
  options: Schema<O>
  /** The kind's own file (`import.meta.url`): its default export is the worker's setup function. */
  setup: string
}

export function defineWorkerKind<O>(definition: WorkerKindDefinition<O>): ConsumerKind<O> {
  return defineConsumerKind<O>({
    name: definition.name,
    description: definition.description,
    options: definition.options,
    start(entry, ctx) {
      startSetupWorker(entry, ctx, definition.setup)
      return {}
    },
  })
}
