// Loads heart's addon for this machine. napi-rs can generate a loader, but
// its 780 lines cover musl, Windows, macOS, WASI and many more platform
// packages; heart builds for glibc Linux on x64 and arm64 (package.json
// napi.targets), so the whole job is two places to look and saying clearly
// why neither worked. The named exports below are checked against index.d.ts
// by scripts/check-generated.mjs.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const supportedArchitectures = ['x64', 'arm64']

function platformTriple() {
  if (process.platform !== 'linux' || !supportedArchitectures.includes(process.arch)) {
    throw new Error(
      `heart's native addon is built for Linux on ${supportedArchitectures.join(' or ')}; this is ${process.platform} on ${process.arch}`,
    )
  }
  return `linux-${process.arch}-gnu`
}

// The prebuilt binary comes first: npm installs @heart/native-<triple> as an
// optional dependency where its os/cpu/libc match. Then the file beside this
// one, which `pnpm run build:native` writes in the repository and the install
// script (scripts/install.mjs) writes where no prebuilt matched.
function loadBinding() {
  const triple = platformTriple()
  const candidates = [`@heart/native-${triple}`, `./heart-native.${triple}.node`]
  const failures = []
  for (const candidate of candidates) {
    try {
      return require(candidate)
    } catch (error) {
      failures.push(`${candidate}: ${error.code === 'MODULE_NOT_FOUND' ? 'not installed' : error.message}`)
    }
  }
  throw new Error(
    `heart's native addon did not load (${failures.join('; ')}). In the repository build it with \`pnpm --filter @heart/native run build\`; ` +
      'from npm, where no prebuilt matches (arm64) its install script builds it from source, which npm 11 runs only once allowed: ' +
      '`npm install-scripts approve @heart/native && npm rebuild @heart/native` (see its README).',
  )
}

const binding = loadBinding()

export const {
  MotionGrid,
  Mp4Muxer,
  PACKET_RECORD_HEADER_BYTES,
  Source,
  encodeJpeg,
  i2cWrite,
  i2cWriteRead,
  monotonicNs,
  NativeErrorCode,
  probe,
  scaleInto,
  sdNotify,
  watchdogUsec,
} = binding
