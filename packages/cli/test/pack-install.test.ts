// heart as a user gets it from npm: every publishable package packed into a
// tarball, the tarballs installed with npm into a fresh folder outside the
// repository (third-party dependencies come from the registry), and heart run
// from there. Catches what the workspace hides: a file left out of `files`, a
// `../../..` path into the repository, a dependency declared nowhere, a
// source map pointing at a file that is not shipped, the prebuilt addon not
// reaching the platform package.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
const cliVersion = (JSON.parse(readFileSync(join(repoRoot, 'packages/cli/package.json'), 'utf8')) as { version: string }).version
const license = readFileSync(join(repoRoot, 'LICENSE'), 'utf8')

interface Ran {
  code: number | null
  out: string
}

// pnpm test passes its npm_config_* settings down; npm reads its own config.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')))

/** Runs a command to its end (killed after timeoutMs); stdout and stderr together. */
function sh(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolveRan, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${out.slice(-4000)}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolveRan({ code, out })
    })
  })
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => statSync(join(dir, file)).isFile())
}

t.setTimeout(300_000)

const work = mkdtempSync(join(tmpdir(), 'heart-pack-install-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))
const tarballs = join(work, 'tarballs')
const unpacked = join(work, 'unpacked')
const app = join(work, 'app')

t.test('every publishable package packs', async (t) => {
  const packed = await sh(process.execPath, [join(repoRoot, 'scripts/pack-packages.mjs'), tarballs], repoRoot, 120_000)
  t.equal(packed.code, 0, `scripts/pack-packages.mjs exits 0\n${packed.out}`)
  const names = readdirSync(tarballs).filter((file) => file.endsWith('.tgz'))
  for (const wanted of ['heart-cli', 'heart-bench', 'heart-native', 'heart-native-linux-x64-gnu', 'heart-kernel', 'heart-contracts']) {
    t.ok(names.includes(`${wanted}-${cliVersion}.tgz`), `${wanted} is packed`)
  }
  for (const name of names) {
    const into = join(unpacked, name.replace(/\.tgz$/, ''))
    mkdirSync(into, { recursive: true })
    const untar = await sh('tar', ['-xzf', join(tarballs, name), '-C', into], work, 30_000)
    t.equal(untar.code, 0, `${name} unpacks`)
  }
})

t.test('what is packed is build output, the license and the crate source only', async (t) => {
  for (const name of readdirSync(unpacked)) {
    const root = join(unpacked, name, 'package')
    const files = filesUnder(root)
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>
    t.equal(manifest.private, undefined, `${name} is not private`)
    t.equal(manifest.license, 'MIT', `${name} says MIT`)
    t.match(manifest.engines, { node: /^>=20/ }, `${name} names the Node.js it needs`)
    t.notMatch(JSON.stringify(manifest), /workspace:/, `${name}: pnpm pack replaced every workspace: range with a version`)
    t.equal(readFileSync(join(root, 'LICENSE'), 'utf8'), license, `${name} ships the repository's LICENSE`)
    t.same(files.filter((file) => file.startsWith('dist/test') || file.endsWith('.tsbuildinfo')), [], `${name} ships no tests`)
    const maps = files.filter((file) => file.endsWith('.map'))
    const unshipped = maps.flatMap((map) =>
      (JSON.parse(readFileSync(join(root, map), 'utf8')) as { sources: string[] }).sources
        .map((source) => relative(root, resolve(root, dirname(map), source)))
        .filter((source) => !files.includes(source)),
    )
    t.same(unshipped, [], `${name}: its ${maps.length} source maps point only at shipped sources`)
    for (const doc of files.filter((file) => file.endsWith('.md'))) {
      t.notMatch(readFileSync(join(root, doc), 'utf8'), /\]\(\.\.\//, `${name}/${doc} links nothing outside the package`)
    }
  }
  const native = filesUnder(join(unpacked, `heart-native-${cliVersion}`, 'package'))
  t.same(native.filter((file) => file.endsWith('.node')), [], '@heart/native itself carries no binary')
  for (const file of ['Cargo.toml', 'Cargo.lock', 'build.rs', 'wrapper.h', 'src/lib.rs', 'scripts/install.mjs']) {
    t.ok(native.includes(file), `@heart/native ships ${file} to build from source`)
  }
  const prebuilt = filesUnder(join(unpacked, `heart-native-linux-x64-gnu-${cliVersion}`, 'package'))
  t.ok(prebuilt.includes('heart-native.linux-x64-gnu.node'), 'the platform package carries the prebuilt addon')
})

t.test('installed with npm outside the repository, heart runs', async (t) => {
  t.ok(relative(repoRoot, app).startsWith('..'), `${app} is outside the repository`)
  mkdirSync(join(app, 'apps'), { recursive: true })
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'heart-install-check', version: '0.0.0', private: true, type: 'module' }))
  const files = readdirSync(tarballs).map((file) => join(tarballs, file))
  const installed = await sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files], app, 150_000)
  t.equal(installed.code, 0, `npm install of the tarballs exits 0\n${installed.out}`)

  t.ok(existsSync(join(app, 'node_modules/@heart/native-linux-x64-gnu/heart-native.linux-x64-gnu.node')), 'npm installed the prebuilt platform package')
  const addon = await sh(process.execPath, ['--input-type=module', '-e', "const n = await import('@heart/native'); console.log(typeof n.monotonicNs())"], app, 20_000)
  t.equal(addon.out.trim(), 'bigint', `@heart/native loads its prebuilt addon\n${addon.out}`)

  const version = await sh('npx', ['--no-install', 'heart', '--version'], app, 30_000)
  t.equal(version.code, 0, 'npx heart --version exits 0')
  t.equal(version.out.trim(), `heart ${cliVersion}`, 'and prints the version')

  const bench = await sh('npx', ['--no-install', 'heart', 'bench', '--help'], app, 30_000)
  t.equal(bench.code, 0, `heart bench finds @heart/bench by package resolution\n${bench.out}`)
  t.match(bench.out, /usage: heart bench SCOPE/)

  const run = await sh('npx', ['--no-install', 'heart', 'run', '--source', 'synthetic://?size=64x48&fps=10', '--duration', '3', '--http', '127.0.0.1:0'], app, 60_000)
  t.equal(run.code, 0, `npx heart run exits 0\n${run.out.slice(-3000)}`)
  t.match(run.out, /heart stopped/, 'it ran to the end of its duration')

  // An app's own consumer next to the config file, as docs/consumers.md
  // shows it, importing a heart package from the app's node_modules.
  const resultFile = join(app, 'brightness.json')
  writeFileSync(
    join(app, 'apps/brightness.mjs'),
    [
      "import { writeFileSync } from 'node:fs'",
      "import { CLI_ERROR_CODES } from '@heart/contracts'",
      'export default (ctx) => {',
      '  const seen = { frames: 0, mean: 0, width: 0, codes: CLI_ERROR_CODES.includes("USAGE") }',
      '  const save = () => writeFileSync(ctx.config.app.resultFile, JSON.stringify(seen))',
      '  return {',
      '    onFrame(frame) {',
      '      const luma = frame.planes[0]',
      '      let sum = 0',
      '      for (let y = 0; y < luma.height; y++) for (let x = 0; x < luma.width; x++) sum += frame.bytes[luma.offset + y * luma.stride + x]',
      '      seen.frames++',
      '      seen.mean = sum / (luma.width * luma.height)',
      '      seen.width = frame.width',
      '      if (seen.frames % 5 === 0) save()',
      '    },',
      '    onStop: save,',
      '  }',
      '}',
      '',
    ].join('\n'),
  )
  writeFileSync(
    join(app, 'heart.yaml'),
    [
      'source: "synthetic://?size=64x48&fps=20"',
      'http: { port: 0 }',
      'thermal: { enabled: false }',
      'consumers:',
      `  - { name: brightness, kind: module, module: apps/brightness.mjs, options: { resultFile: ${JSON.stringify(resultFile)} } }`,
      '',
    ].join('\n'),
  )
  const withApp = await sh('npx', ['--no-install', 'heart', 'run', '--config', 'heart.yaml', '--duration', '8'], app, 60_000)
  t.equal(withApp.code, 0, `heart run with the app's consumer exits 0\n${withApp.out.slice(-3000)}`)
  t.ok(existsSync(resultFile), 'the app consumer ran and wrote its result when stopped')
  const seen = JSON.parse(readFileSync(resultFile, 'utf8')) as { frames: number; mean: number; width: number; codes: boolean }
  t.ok(seen.frames >= 10, `it read ${seen.frames} frames`)
  t.equal(seen.width, 64, 'real frames of the configured size')
  t.ok(seen.mean > 0 && seen.mean < 255, `their brightness, ${seen.mean.toFixed(1)}, is a real mean`)
  t.ok(seen.codes, 'it imported @heart/contracts from the install')
})
