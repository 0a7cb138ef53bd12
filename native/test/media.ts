// Test media made with the FFmpeg CLI (the reference decoder) in a temp dir,
// plus helpers to compare what readInto() wrote against the CLI's raw output.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OutputInfo, SourceSpec } from '@heart/native'

// Native specs written out by hand: what @heart/capture's nativeSpec() builds
// from a URL. The rtsp one leaves the credentials in `redacted` on purpose: the
// native side re-redacts it, and the credential tests check that guard.
export function fileSpec(path: string, options: Partial<SourceSpec> = {}): SourceSpec {
  return { kind: 'file', target: path, redacted: `file://${path}`, ...options }
}

export function testSpec(options: Partial<SourceSpec> = {}): SourceSpec {
  return { kind: 'testsrc', target: '', redacted: 'testsrc://', ...options }
}

export function rtspSpec(url: string, options: Partial<SourceSpec> = {}): SourceSpec {
  return { kind: 'rtsp', target: url, redacted: url, ...options }
}

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

/** Bytes per row of each plane as the CLI packs them (no padding); native/src/layout.rs's row_bytes. */
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

/**
 * An H.264 MP4 of testsrc2 whose every `every`-th P-frame slice has bytes
 * flipped in its slice header and payload. The H.264 decoder drops some of
 * those frames without an error (a header it cannot parse) and conceals
 * damage in others, which is what the decodeErrors accounting must catch.
 * The damage avoids zero and 0x03 bytes and never writes a byte below 4, so
 * no start code appears or vanishes, and the first header byte stays (its
 * top bit tells the parser where a frame starts), so packets = frames.
 */
export function makeDamagedClip(dir: string, name: string, opts: { frames: number; every: number }): { path: string; damaged: number } {
  const raw = makeClip(dir, `${name}.h264`, { frames: opts.frames, extra: ['-g', '30', '-bf', '0'] })
  const data = readFileSync(raw)
  const starts: number[] = []
  for (let i = 2; i < data.length; i++) if (data[i] === 1 && data[i - 1] === 0 && data[i - 2] === 0) starts.push(i + 1)
  let slices = 0
  let damaged = 0
  const flip = (from: number, to: number): void => {
    for (let j = from; j < to; j++) {
      const b = data[j]!
      if (b === 0 || b === 3) continue
      const v = b ^ 0xa5
      data[j] = v < 4 ? v | 0x80 : v
    }
  }
  starts.forEach((begin, i) => {
    const end = i + 1 < starts.length ? starts[i + 1]! - 3 : data.length
    if ((data[begin]! & 0x1f) !== 1 || end - begin < 64) return // non-IDR slices only
    if (++slices % opts.every !== 0) return
    flip(begin + 2, begin + 12)
    const mid = begin + ((end - begin) >> 1)
    flip(mid, Math.min(end, mid + 48))
    damaged++
  })
  writeFileSync(raw, data)
  const path = join(dir, name)
  ffmpeg(['-framerate', '30', '-f', 'h264', '-i', raw, '-c', 'copy', path])
  return { path, damaged }
}
