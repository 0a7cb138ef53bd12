// Test media made with the FFmpeg CLI (the reference decoder) in a temp dir,
// plus helpers to compare what readInto() wrote against the CLI's raw output.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OutputInfo } from '@heart/native'

export function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'heart-native-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: 'pipe' })
}

/** A short clip of FFmpeg's testsrc2 pattern (moving, colourful, detailed). */
export function makeClip(
  dir: string,
  name: string,
  opts: { size?: string; fps?: number; frames?: number; codec?: string; extra?: string[] } = {},
): string {
  const path = join(dir, name)
  const { size = '320x240', fps = 30, frames = 10, codec = 'libx264', extra = [] } = opts
  ffmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${fps}`,
    '-frames:v', String(frames), '-c:v', codec, '-pix_fmt', 'yuv420p', ...extra, path,
  ])
  return path
}

/** The CLI's decode of `clip`, as raw frames of `pixFmt`, optionally through a filter. */
export function cliFrames(clip: string, pixFmt: string, filter?: string): Buffer {
  const out = clip + `.${pixFmt}.${filter ? filter.replace(/[^a-z0-9]/gi, '_') : 'plain'}.raw`
  ffmpeg(['-i', clip, ...(filter ? ['-vf', filter] : []), '-f', 'rawvideo', '-pix_fmt', pixFmt, out])
  return readFileSync(out)
}

/** Bytes per row of each plane as the CLI packs them (no padding). */
export function packedRowBytes(info: OutputInfo): number[] {
  return info.planes.map((p, i) => {
    if (info.pixFmt === 'rgb24' || info.pixFmt === 'bgr24') return p.width * 3
    if (info.pixFmt === 'nv12' && i === 1) return p.width * 2
    return p.width
  })
}

/** Removes the row padding: the frame as the CLI would write it. */
export function unpad(info: OutputInfo, bytes: Uint8Array): Buffer {
  const rowBytes = packedRowBytes(info)
  const parts: Buffer[] = []
  info.planes.forEach((p, i) => {
    for (let row = 0; row < p.height; row++) {
      const start = p.offset + row * p.stride
      parts.push(Buffer.from(bytes.subarray(start, start + rowBytes[i]!)))
    }
  })
  return Buffer.concat(parts)
}

export function frameSize(info: OutputInfo): number {
  const rowBytes = packedRowBytes(info)
  return info.planes.reduce((sum, p, i) => sum + rowBytes[i]! * p.height, 0)
}

/** Largest and mean absolute difference between two equal-length byte arrays. */
export function difference(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`)
  let max = 0
  let sum = 0
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!)
    sum += d
    if (d > max) max = d
  }
  return { max, mean: sum / a.length }
}
