#!/usr/bin/env node
// Rebuilds the crate and fails when the generated bindings (index.js,
// index.d.ts) differ from the committed ones: the Rust source is the truth and
// a stale .d.ts would lie to every package that type-checks against it.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('..', import.meta.url))
const generated = ['index.js', 'index.d.ts']

const build = spawnSync('pnpm', ['run', 'build'], { cwd: here, stdio: 'inherit' })
if (build.status !== 0) {
  console.error('check:generated: the native build failed')
  process.exit(build.status ?? 1)
}
const diff = spawnSync('git', ['diff', '--exit-code', '--stat', 'HEAD', '--', ...generated], { cwd: here, stdio: 'inherit' })
if (diff.status !== 0) {
  console.error(
    'check:generated: native/index.js or native/index.d.ts differ from the committed files.\n' +
      'Run `pnpm --filter @heart/native run build` and commit the regenerated files with the Rust change.',
  )
  process.exit(1)
}
console.log('check:generated: index.js and index.d.ts match the Rust source')
