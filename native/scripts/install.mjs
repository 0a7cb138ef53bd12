#!/usr/bin/env node
// npm runs this when @heart/native is installed. Where npm installed a
// prebuilt binary that loads (@heart/native-linux-x64-gnu on x64 with
// Debian 12's FFmpeg), there is nothing to do. Elsewhere (a Raspberry Pi 4 or
// a Jetson: arm64, or an FFmpeg the prebuilt was not linked against) it builds
// the crate shipped in this package with cargo against the system FFmpeg, and
// when cargo or FFmpeg's development files are missing it says which packages
// to install instead of leaving a bare cargo or pkg-config error.
// HEART_NATIVE_BUILD_FROM_SOURCE=1 builds even when a prebuilt loads (that is
// how the source build is tested on x64).
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync } from 'node:fs'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const triple = `linux-${process.arch}-gnu`
const addonFile = join(packageDir, `heart-native.${triple}.node`)
/** napi 3 needs this Rust; Debian 12's own cargo (1.63) is older. */
const MIN_RUST = [1, 88]
const FFMPEG_LIBRARIES = ['libavformat', 'libavcodec', 'libavutil', 'libswscale', 'libavdevice']
const APT_PACKAGES = 'pkg-config clang libclang-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev'

function log(line) {
  process.stderr.write(`@heart/native: ${line}\n`)
}

function fail(lines) {
  for (const line of lines) log(line)
  process.exit(1)
}

/** Why the addon does not load here (index.js tries the prebuilt, then a local build), or undefined when it does. */
async function prebuiltProblem() {
  try {
    await import('../index.js')
    return undefined
  } catch (error) {
    // The loader's message also says how to run this script; only its reasons belong here.
    return /did not load \((.*)\)\. In the/.exec(error.message)?.[1] ?? error.message
  }
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: packageDir, encoding: 'utf8' })
  return result.error ? { ok: false, out: '' } : { ok: result.status === 0, out: `${result.stdout}${result.stderr}` }
}

/** Every missing tool or library, named with what installs it. */
function missingBuildTools() {
  const missing = []
  const cargo = run('cargo', ['--version'])
  const version = /cargo (\d+)\.(\d+)/.exec(cargo.out)
  if (!cargo.ok || !version) {
    missing.push(`cargo (Rust ${MIN_RUST.join('.')} or newer: https://rustup.rs, \`curl -sSf https://sh.rustup.rs | sh\`)`)
  } else if (Number(version[1]) < MIN_RUST[0] || (Number(version[1]) === MIN_RUST[0] && Number(version[2]) < MIN_RUST[1])) {
    missing.push(`a newer cargo: found ${version[0]}, the crate needs Rust ${MIN_RUST.join('.')} or newer (Debian 12's cargo is 1.63; use rustup: https://rustup.rs)`)
  }
  if (!run('pkg-config', ['--version']).ok) {
    missing.push('pkg-config')
  } else {
    const libraries = FFMPEG_LIBRARIES.filter((library) => !run('pkg-config', ['--exists', library]).ok)
    if (libraries.length > 0) missing.push(`FFmpeg development files for ${libraries.join(', ')} (pkg-config finds none)`)
  }
  // bindgen reads FFmpeg's headers through libclang.
  if (!run('clang', ['--version']).ok) missing.push('clang and libclang (bindgen reads the FFmpeg headers with it)')
  return missing
}

function buildFromSource() {
  const missing = missingBuildTools()
  if (missing.length > 0) {
    fail([
      'cannot build the native addon from source; missing:',
      ...missing.map((item) => `  - ${item}`),
      `On Debian 12 / Raspberry Pi OS bookworm / Ubuntu: sudo apt install ${APT_PACKAGES}`,
      'then Rust from https://rustup.rs, and install @heart/native again.',
    ])
  }
  log(`building the native addon from source with cargo in ${packageDir} (a few minutes on a Raspberry Pi 4)`)
  const build = spawnSync('cargo', ['build', '--release'], { cwd: packageDir, stdio: ['ignore', 'inherit', 'inherit'] })
  if (build.status !== 0) fail([`cargo build --release failed (exit ${build.status ?? build.signal}); its output is above.`])
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(packageDir, 'target')
  copyFileSync(join(targetDir, 'release', 'libheart_native.so'), addonFile)
  log(`built ${addonFile}`)
}

async function main() {
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    fail([`heart's native addon builds for Linux on x64 or arm64; this is ${process.platform} on ${process.arch}.`])
  }
  const forced = process.env.HEART_NATIVE_BUILD_FROM_SOURCE === '1'
  // In the repository (pnpm install of the workspace) the addon is built by
  // `pnpm run build:native`, not here.
  if (!forced && !packageDir.split(sep).includes('node_modules')) return
  if (!forced) {
    const problem = await prebuiltProblem()
    if (problem === undefined) return
    log(`no prebuilt addon loads here, building from source (${problem})`)
  } else if (existsSync(addonFile)) {
    log('HEART_NATIVE_BUILD_FROM_SOURCE=1: rebuilding the addon from source')
  }
  buildFromSource()
}

await main()
