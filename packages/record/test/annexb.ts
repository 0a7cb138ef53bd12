// H.264 access units made by the FFmpeg CLI (libx264, raw Annex B), for
// feeding the recorder real packets without a camera: split at start codes,
// parameter sets and SEI kept with the slice that follows them.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface AccessUnit {
  data: Uint8Array
  keyframe: boolean
}

export interface Clip {
  codecConfig: Uint8Array
  units: AccessUnit[]
}

export async function h264Clip(o: { frames: number; fps: number; gop: number }): Promise<Clip> {
  const { stdout } = await run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=${o.fps}`, '-frames:v', String(o.frames),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-g', String(o.gop), '-x264-params', 'slices=1', '-f', 'h264', '-',
  ], { encoding: 'buffer', maxBuffer: 1 << 26 })
  const bytes = new Uint8Array(stdout)
  const starts: number[] = []
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) {
      starts.push(i > 0 && bytes[i - 1] === 0 ? i - 1 : i)
      i += 2
    }
  }
  const units: AccessUnit[] = []
  const config: Uint8Array[] = []
  let pending: Uint8Array[] = []
  let keyframe = false
  for (let n = 0; n < starts.length; n++) {
    const nal = bytes.subarray(starts[n]!, starts[n + 1] ?? bytes.length)
    const header = nal[nal[2] === 1 ? 3 : 4]!
    const type = header & 0x1f
    if ((type === 7 || type === 8) && config.length < 2) config.push(nal)
    pending.push(nal)
    if (type === 5) keyframe = true
    if (type === 1 || type === 5) {
      units.push({ data: concat(pending), keyframe })
      pending = []
      keyframe = false
    }
  }
  return { codecConfig: concat(config), units }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
