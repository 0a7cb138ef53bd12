// Test media made with the FFmpeg CLI: small clips for most tests, a 1080p60
// clip for the latency measurement, and clips with bytes flipped inside
// their slices for the decode-error test. Clips are cached in the OS temp
// folder by their parameters, so a test run encodes each only once.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface ClipSpec {
  codec: 'h264' | 'hevc'
  width: number
  height: number
  fps: number
  seconds: number
  /** Target bitrate; default: encoder's quality-based rate control. */
  bitrateKbps?: number
  /** Flip bytes inside every Nth non-keyframe slice (0: a clean clip). */
  corruptEvery?: number
}

export const MEDIA_DIR = join(tmpdir(), 'heart-capture-media')

/** Path of an MP4 clip matching the spec, encoding it on first use. */
export async function clip(spec: ClipSpec): Promise<string> {
  const name = `${spec.codec}-${spec.width}x${spec.height}-${spec.fps}fps-${spec.seconds}s` +
    `${spec.bitrateKbps ? `-${spec.bitrateKbps}k` : ''}${spec.corruptEvery ? `-corrupt${spec.corruptEvery}` : ''}.mp4`
  const out = join(MEDIA_DIR, name)
  if (existsSync(out)) return out
  await mkdir(MEDIA_DIR, { recursive: true })
  // Unique temp names, renamed into place: parallel test files may race to build the same clip.
  const tag = `${process.pid}-${Math.random().toString(36).slice(2)}`
  const raw = join(MEDIA_DIR, `${tag}.${spec.codec}`)
  const tmp = join(MEDIA_DIR, `${tag}.mp4`)
  try {
    await encodeElementary(spec, raw)
    if (spec.corruptEvery) {
      const bytes = await readFile(raw)
      const flipped = corruptSlices(bytes, spec.codec, spec.corruptEvery)
      if (flipped === 0) throw new Error(`no slice was corrupted in ${raw}; is the clip too short?`)
      await writeFile(raw, bytes)
    }
    // Remux without re-encoding: the flipped bytes survive as they are.
    await ffmpeg(['-framerate', String(spec.fps), '-f', spec.codec, '-i', raw, '-c', 'copy', ...(spec.codec === 'hevc' ? ['-tag:v', 'hvc1'] : []), '-movflags', '+faststart', tmp])
    await rename(tmp, out)
  } finally {
    await rm(raw, { force: true })
    await rm(tmp, { force: true })
  }
  return out
}

/**
 * One H.264 clip whose segments have different sizes, like a camera
 * renegotiating mid-stream: each segment starts with its own SPS/PPS and a
 * keyframe, and the container keeps the in-band parameter sets.
 */
export async function resolutionChangeClip(segments: Array<{ width: number; height: number; seconds: number }>, fps = 30): Promise<string> {
  const name = `h264-change-${segments.map((s) => `${s.width}x${s.height}x${s.seconds}`).join('-')}-${fps}fps.mp4`
  const out = join(MEDIA_DIR, name)
  if (existsSync(out)) return out
  await mkdir(MEDIA_DIR, { recursive: true })
  const tag = `${process.pid}-${Math.random().toString(36).slice(2)}`
  const parts = segments.map((_, i) => join(MEDIA_DIR, `${tag}-${i}.h264`))
  const raw = join(MEDIA_DIR, `${tag}.h264`)
  const tmp = join(MEDIA_DIR, `${tag}.mp4`)
  try {
    await Promise.all(segments.map((s, i) => encodeElementary({ codec: 'h264', width: s.width, height: s.height, fps, seconds: s.seconds }, parts[i]!)))
    await writeFile(raw, Buffer.concat(await Promise.all(parts.map((p) => readFile(p)))))
    await ffmpeg(['-framerate', String(fps), '-f', 'h264', '-i', raw, '-c', 'copy', '-movflags', '+faststart', tmp])
    await rename(tmp, out)
  } finally {
    for (const f of [...parts, raw, tmp]) await rm(f, { force: true })
  }
  return out
}

async function encodeElementary(spec: ClipSpec, out: string): Promise<void> {
  const gop = String(spec.fps) // a keyframe a second, like an IP camera
  const rate = spec.bitrateKbps
    ? ['-b:v', `${spec.bitrateKbps}k`, '-maxrate', `${spec.bitrateKbps}k`, '-bufsize', `${spec.bitrateKbps}k`]
    : []
  const codecArgs = spec.codec === 'h264'
    ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', gop, '-bf', '0', ...rate]
    : ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', `log-level=error:bframes=0:keyint=${gop}`, ...rate]
  await ffmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=${spec.width}x${spec.height}:rate=${spec.fps}`,
    '-t', String(spec.seconds), '-pix_fmt', 'yuv420p', ...codecArgs, '-f', spec.codec, out,
  ])
}

async function ffmpeg(args: string[]): Promise<void> {
  try {
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { maxBuffer: 16 << 20 })
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`ffmpeg ${args.join(' ')} failed: ${e.stderr || e.message}`, { cause: err })
  }
}

/**
 * Flip bytes inside every Nth non-keyframe slice NAL unit of an Annex B
 * stream, in place; returns how many slices were damaged. Both the slice
 * header (so the decoder reports an error) and the payload are hit, but not
 * the bit that marks a frame's first slice. Zero and
 * 0x03 bytes are left alone and no byte becomes < 4, so no start code or
 * emulation-prevention sequence is created or destroyed: the NAL structure,
 * and therefore the container, stays valid; only the decoder sees garbage.
 */
export function corruptSlices(data: Uint8Array, codec: 'h264' | 'hevc', every: number): number {
  const starts = nalStarts(data)
  let slices = 0
  let flipped = 0
  for (let i = 0; i < starts.length; i++) {
    const begin = starts[i]!
    const end = i + 1 < starts.length ? starts[i + 1]! - 3 : data.length
    const header = codec === 'h264' ? 1 : 2
    const type = codec === 'h264' ? data[begin]! & 0x1f : (data[begin]! >> 1) & 0x3f
    const isNonKeySlice = codec === 'h264' ? type === 1 : type <= 9
    if (!isNonKeySlice || end - begin < header + 64) continue
    slices++
    if (slices % every !== 0) continue
    // The first slice-header byte stays: its top bit (first_mb_in_slice == 0) is how parsers find frame
    // boundaries, and merging two frames into one packet would hide the damage as a missing timestamp.
    flip(data, begin + header + 1, Math.min(end, begin + header + 12))
    const mid = begin + Math.floor((end - begin) / 2)
    flip(data, mid, Math.min(end, mid + 48))
    flipped++
  }
  return flipped
}

function flip(data: Uint8Array, from: number, to: number): void {
  for (let j = from; j < to; j++) {
    const b = data[j]!
    if (b === 0 || b === 3) continue
    let v = b ^ 0xa5
    if (v < 4) v |= 0x80
    data[j] = v
  }
}

/** Offsets of the first byte after each 00 00 01 start code. */
function nalStarts(data: Uint8Array): number[] {
  const out: number[] = []
  for (let i = 2; i < data.length; i++) {
    if (data[i] === 1 && data[i - 1] === 0 && data[i - 2] === 0) out.push(i + 1)
  }
  return out
}
