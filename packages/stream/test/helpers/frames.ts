// Frames for tests: fake JPEG bytes with a recognisable payload, or real JPEGs
// made by the ffmpeg CLI.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EncodedFrame } from '../../src/types.js'

/** An EncodedFrame whose bytes start with JPEG's SOI and encode `seq`, `size` bytes long. */
export function fakeFrame(seq: number, size = 1000): EncodedFrame {
  const jpeg = Buffer.alloc(size, seq & 0xff)
  jpeg[0] = 0xff
  jpeg[1] = 0xd8
  jpeg.writeUInt32BE(seq, 2)
  return {
    jpeg,
    meta: {
      seq: BigInt(seq),
      captureTsNs: 1_000_000n * BigInt(seq),
      encodedTsNs: 1_000_000n * BigInt(seq) + 5000n,
      srcWidth: 1920,
      srcHeight: 1080,
      width: 640,
      height: 360,
      encodeUs: 5,
      flags: 0,
    },
  }
}

/** `count` distinct real JPEGs (ffmpeg's testsrc2, each frame differs), `width` x `height`. */
export function ffmpegJpegs(count: number, width = 640, height = 360): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), 'heart-stream-jpegs-'))
  try {
    execFileSync(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=5`,
        '-frames:v', String(count), '-q:v', '5', join(dir, 'f%03d.jpg')],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    )
    return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f)))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
