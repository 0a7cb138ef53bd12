// Loads heart's addon for this machine. napi-rs can generate a loader, but
// its 780 lines cover musl, Windows, macOS, WASI and optional-dependency
// packages; heart builds for glibc Linux on x64 and arm64 (package.json
// napi.targets) and ships the .node file beside this one, so the whole job is
// picking a file name and saying clearly when it is missing. The named exports
// below are checked against index.d.ts by scripts/check-generated.mjs.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const supportedArchitectures = ['x64', 'arm64']

function bindingFileName() {
  if (process.platform !== 'linux' || !supportedArchitectures.includes(process.arch)) {
    throw new Error(
      `heart's native addon is built for Linux on ${supportedArchitectures.join(' or ')}; this is ${process.platform} on ${process.arch}`,
    )
  }
  return `./heart-native.linux-${process.arch}-gnu.node`
}

function loadBinding() {
  const file = bindingFileName()
  try {
    return require(file)
  } catch (error) {
    throw new Error(
      `heart's native addon ${file.slice(2)} did not load (${error.message}). Build it with \`pnpm --filter @heart/native run build\` (see docs/native.md).`,
      { cause: error },
    )
  }
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
