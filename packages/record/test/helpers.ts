// Media for the recorder's tests, made by the FFmpeg CLI (independent of our
// muxer), and ffprobe's frame count as the judge of what a file holds.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A temp folder removed when the test ends. */
export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'heart-record-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A fragmented MP4 the way FFmpeg's own CLI writes one: `fragmentFrames` frames per fragment. */
export async function ffmpegFragmented(path: string, o: { frames: number; fps: number; fragmentFrames: number; codec?: 'libx264' | 'libx265' }): Promise<void> {
  await run('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${o.fps}`, '-frames:v', String(o.frames),
    '-c:v', o.codec ?? 'libx264', '-g', String(o.fragmentFrames), '-pix_fmt', 'yuv420p',
    ...(o.codec === 'libx265' ? ['-x265-params', 'log-level=error'] : ['-preset', 'ultrafast']),
    // skip_trailer: no mfra index at the end, as the recorder writes its files (so a cut lands in media).
    '-movflags', 'frag_keyframe+empty_moov+default_base_moof+skip_trailer', path,
  ], { timeout: 60_000 })
}

/** Frames ffprobe decodes from the file (it must open and decode it to count). */
export async function probeFrames(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path], { timeout: 60_000 })
  return Number(stdout.trim())
}
