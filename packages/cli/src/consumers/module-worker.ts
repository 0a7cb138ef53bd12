// The worker of a `kind: module` consumer: imports the application's module
// and hands its default export, a serveConsumer-shaped setup function, to
// serveConsumer. The setup sees its entry's `options` as ctx.config.app, as
// a package's own consumer sees its app options.
import { serveConsumer, type ConsumerServiceConfig, type FrameHandler, type ServiceContext } from '@heart/kernel'

/** What the module kind hands this worker (see consumer-kinds.ts). */
export interface ModuleWorkerApp {
  /** file:// URL of the module. */
  module: string
  options: unknown
}

type Setup = (ctx: ServiceContext<ConsumerServiceConfig<unknown>>) => FrameHandler | Promise<FrameHandler>

serveConsumer<ModuleWorkerApp>(async (ctx) => {
  const { module, options } = ctx.config.app
  const setup = ((await import(module)) as { default?: unknown }).default
  // heart checked this before starting; the file may have changed since.
  if (typeof setup !== 'function') throw new TypeError(`${module}: the default export is not a function (a serveConsumer setup function)`)
  return (setup as Setup)({ ...ctx, config: { ...ctx.config, app: options } })
})
