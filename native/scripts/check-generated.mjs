#!/usr/bin/env node
// Rebuilds the crate and fails when the generated index.d.ts differs from the
// committed one (the Rust source is the truth and a stale .d.ts would lie to
// every package that type-checks against it), or when the hand-written loader
// index.js exports other names than index.d.ts declares.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('..', import.meta.url))

const build = spawnSync('pnpm', ['run', 'build'], { cwd: here, stdio: 'inherit' })
if (build.status !== 0) {
  console.error('check:generated: the native build failed')
  process.exit(build.status ?? 1)
}
const diff = spawnSync('git', ['diff', '--exit-code', '--stat', 'HEAD', '--', 'index.d.ts'], { cwd: here, stdio: 'inherit' })
if (diff.status !== 0) {
  console.error(
    'check:generated: native/index.d.ts differs from the committed file.\n' +
      'Run `pnpm --filter @heart/native run build` and commit the regenerated file with the Rust change.',
  )
  process.exit(1)
}

// Values only: interfaces and types have no runtime export.
const declared = [...readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8').matchAll(/^export declare (?:const|class|function|enum) (\w+)/gm)]
  .map((match) => match[1])
  .sort()
const addon = await import('../index.js')
const loaded = Object.keys(addon).sort()
const missing = declared.filter((name) => !loaded.includes(name))
const extra = loaded.filter((name) => !declared.includes(name))
if (missing.length > 0 || extra.length > 0) {
  console.error(
    `check:generated: native/index.js exports do not match index.d.ts (missing: ${missing.join(', ') || 'none'}; not declared: ${extra.join(', ') || 'none'}).\n` +
      'Add the new #[napi] export to the export line of native/index.js.',
  )
  process.exit(1)
}
const undefinedExports = declared.filter((name) => addon[name] === undefined)
if (undefinedExports.length > 0) {
  console.error(`check:generated: the addon does not provide ${undefinedExports.join(', ')} (rebuild it)`)
  process.exit(1)
}
console.log('check:generated: index.d.ts matches the Rust source and index.js exports every declared name')
