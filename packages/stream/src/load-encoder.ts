// Loads `encodeJpeg` from a module named in the encoder's config. A function
// cannot be structured-cloned into a worker, so the worker imports it by name:
// the native addon in production, a fake module in tests.

import { encoderModuleInvalid } from './errors.js'
import type { EncodeJpeg } from './types.js'

export async function loadEncoder(specifier: string): Promise<EncodeJpeg> {
  let mod: { encodeJpeg?: unknown }
  try {
    mod = (await import(specifier)) as { encodeJpeg?: unknown }
  } catch (err) {
    throw encoderModuleInvalid(specifier, `import failed (${(err as Error).message})`)
  }
  if (typeof mod.encodeJpeg !== 'function') throw encoderModuleInvalid(specifier, 'it has no encodeJpeg function')
  return mod.encodeJpeg as EncodeJpeg
}
