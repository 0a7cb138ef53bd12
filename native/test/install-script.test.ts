// The install script's answer where the source build cannot run: every
// missing tool named, with the Debian packages that provide it, exit 1. The
// build itself (minutes of cargo) is checked by hand from a packed tarball:
// docs/deploy.md, "Installing from packages".
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const script = fileURLToPath(new URL('../../scripts/install.mjs', import.meta.url))

t.test('without cargo, pkg-config and clang the source build names them and the packages to install', async (t) => {
  // An empty PATH hides every tool; the script itself runs on this node.
  const emptyPath = mkdtempSync(join(tmpdir(), 'heart-no-tools-'))
  t.teardown(() => rmSync(emptyPath, { recursive: true, force: true }))
  const ran = spawnSync(process.execPath, [script], {
    env: { PATH: emptyPath, HEART_NATIVE_BUILD_FROM_SOURCE: '1' },
    encoding: 'utf8',
  })
  t.equal(ran.status, 1, 'it exits 1 instead of starting a build that cannot work')
  t.match(ran.stderr, /missing:/)
  t.match(ran.stderr, /- cargo \(Rust 1\.88 or newer: https:\/\/rustup\.rs/, 'names cargo and where to get it')
  t.match(ran.stderr, /- pkg-config\n/, 'names pkg-config')
  t.match(ran.stderr, /- clang and libclang/, 'names clang')
  t.match(ran.stderr, /sudo apt install pkg-config clang libclang-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev/, 'and the Debian packages')
  t.notMatch(ran.stderr, /Compiling|cargo build/, 'no build was started')
})

t.test('FFmpeg development files missing: named per library', async (t) => {
  // pkg-config present but looking in an empty folder: no libav*.pc found.
  const ran = spawnSync(process.execPath, [script], {
    env: { ...process.env, PKG_CONFIG_LIBDIR: tmpdir(), PKG_CONFIG_PATH: '', HEART_NATIVE_BUILD_FROM_SOURCE: '1' },
    encoding: 'utf8',
  })
  t.equal(ran.status, 1, 'it exits 1')
  t.match(ran.stderr, /FFmpeg development files for libavformat, libavcodec, libavutil, libswscale, libavdevice \(pkg-config finds none\)/)
})
