import t from 'tap'
import { execFileSync } from 'node:child_process'
import { loadNative, loadNativeIfBuilt, NativeUnavailableError } from '../src/index.js'

// The addon is built on every machine that runs the full test suite (pnpm test builds it first).
t.test('loads the addon once, typed, with the exports a caller needs', async (t) => {
  const native = await loadNative(['Source', 'probe', 'encodeJpeg', 'i2cWriteRead'])
  t.type(native.Source.open, 'function')
  t.type(native.monotonicNs(), 'bigint')
  t.equal(await loadNative(), native, 'one module per thread')
  t.equal(await loadNativeIfBuilt(['scaleInto']), native)
})

t.test('a stale addon (an export this build needs is missing) is refused by name', async (t) => {
  // Stands in for a name the next crate version adds.
  const needs = ['Source', 'openSpecV9'] as unknown as Parameters<typeof loadNative>[0]
  const error = await loadNative(needs).then(() => null, (e: unknown) => e)
  t.ok(error instanceof NativeUnavailableError)
  t.match(error, { code: 'NATIVE_UNAVAILABLE', missing: ['openSpecV9'], message: /stale: it has no openSpecV9; rebuild it with `pnpm run build:native`/ })
  t.equal(await loadNativeIfBuilt(needs), null, 'callers with a fallback get null')
})

t.test('a missing addon is NATIVE_UNAVAILABLE, and null for callers with a fallback', async (t) => {
  const hooks = new URL('./fixtures/no-native-hooks.js', import.meta.url).href
  const loader = new URL('../src/native.js', import.meta.url).href
  const script = `
    import { register } from 'node:module'
    register(${JSON.stringify(hooks)})
    const { loadNative, loadNativeIfBuilt } = await import(${JSON.stringify(loader)})
    const error = await loadNative(['Source']).then(() => null, (e) => e)
    const fallback = await loadNativeIfBuilt()
    console.log(JSON.stringify({ name: error?.name, code: error?.code, message: error?.message, fallback }))
  `
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Record<string, unknown>
  t.match(out, {
    name: 'NativeUnavailableError',
    code: 'NATIVE_UNAVAILABLE',
    message: /could not be loaded \(Cannot find package '@heart\/native'\); build it with `pnpm run build:native`/,
    fallback: null,
  })
})
