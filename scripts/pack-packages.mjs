#!/usr/bin/env node
// Packs every publishable workspace package into one folder as npm tarballs:
// `node scripts/pack-packages.mjs DIR` (after `pnpm run build`). pnpm pack,
// not npm pack, because it turns the `workspace:*` ranges into the versions
// npm can install. The prebuilt addon is copied into its per-platform package
// (native/npm/linux-x64-gnu) only for the packing and removed afterwards, so
// the repository's loader never prefers a stale copy over a fresh build.
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const destination = process.argv[2] ? resolve(process.argv[2]) : undefined
if (!destination || process.argv.length > 3) {
  process.stderr.write('usage: node scripts/pack-packages.mjs DIR (the folder the .tgz files are written to)\n')
  process.exit(2)
}

/** @type {{ name: string, path: string, private: boolean }[]} */
const projects = JSON.parse(execFileSync('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: root, encoding: 'utf8' }))
const publishable = projects.filter((project) => !project.private)

// tsc -b never deletes the output of a source file that was removed or
// renamed; packed, such a file would ship code nothing tests.
const stale = publishable.flatMap((project) => {
  const built = join(project.path, 'dist', 'src')
  if (!existsSync(built)) return []
  return readdirSync(built, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js') && !existsSync(join(project.path, 'src', file.replace(/\.js$/, '.ts'))))
    .map((file) => join(built, file))
})
if (stale.length > 0) {
  process.stderr.write(`pack-packages: build output without a source (run \`pnpm run clean && pnpm run build:ts\`):\n  ${stale.join('\n  ')}\n`)
  process.exit(1)
}

const platformPackages = readdirSync(join(root, 'native', 'npm'))
const staged = []
try {
  for (const triple of platformPackages) {
    const built = join(root, 'native', `heart-native.${triple}.node`)
    if (!existsSync(built)) {
      // Only this machine's platform is built here; the others are built where they run (see docs/deploy.md).
      process.stderr.write(`pack-packages: no ${built}; build it with \`pnpm run build:native\` on ${triple}\n`)
      process.exit(1)
    }
    const target = join(root, 'native', 'npm', triple, `heart-native.${triple}.node`)
    copyFileSync(built, target)
    staged.push(target)
  }
  mkdirSync(destination, { recursive: true })
  for (const project of publishable) {
    execFileSync('pnpm', ['pack', '--pack-destination', destination], { cwd: project.path, stdio: ['ignore', 'ignore', 'inherit'] })
    process.stdout.write(`${project.name}\n`)
  }
} finally {
  for (const file of staged) rmSync(file, { force: true })
}
