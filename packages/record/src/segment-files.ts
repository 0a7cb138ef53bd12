// Where segments live and how they are found again:
// DIR/CAMERA/YYYY-MM-DD/HH-MM-SS.mp4 (UTC, so the order of names is the
// order of time across DST changes and time zones), clips apart in
// DIR/CAMERA/clips/ and raw captures in DIR/CAMERA/captures/ (retention never
// touches either), and the start-up repair
// of a file a crash cut short.
import { readdir, stat, truncate, unlink } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { scanFmp4, type Fmp4Scan } from './fmp4-scan.js'

export const CLIPS_FOLDER = 'clips'
/** Raw (Y4M) captures: never listed as segments, never deleted by retention. */
export const CAPTURES_FOLDER = 'captures'
const DAY_FOLDER = /^\d{4}-\d{2}-\d{2}$/
const SEGMENT_FILE = /^(\d{2})-(\d{2})-(\d{2})(?:-(\d+))?\.mp4$/

const two = (n: number): string => String(n).padStart(2, '0')

/** The UTC day folder and file stem of a wall-clock time: ['2026-12-07', '15-04-05']. */
export function segmentStem(wallMs: number): [day: string, stem: string] {
  const d = new Date(wallMs)
  return [`${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`, `${two(d.getUTCHours())}-${two(d.getUTCMinutes())}-${two(d.getUTCSeconds())}`]
}

/**
 * The name of a clip or capture file: its UTC time to the second, what made
 * it, and a counter (two can start within one second):
 * `2026-12-07T15-04-09Z-motion-3.mp4`.
 */
export function eventFileName(wallMs: number, label: string, n: number, ext: 'mp4' | 'y4m'): string {
  const stamp = new Date(wallMs).toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
  return `${stamp}-${label}-${n}.${ext}`
}

/**
 * The path for a segment starting at wallMs. Two segments can start within
 * one second (the camera reopened): the second gets `-2`, and so on.
 */
export function segmentPath(root: string, camera: string, wallMs: number): string {
  const [day, stem] = segmentStem(wallMs)
  const folder = join(root, camera, day)
  let path = join(folder, `${stem}.mp4`)
  for (let n = 2; existsSync(path); n++) path = join(folder, `${stem}-${n}.mp4`)
  return path
}

/** A segment file on disk. */
export interface SegmentFile {
  path: string
  /** Path below the camera folder, with '/' ("2026-12-07/15-04-05.mp4"): what URLs carry. */
  name: string
  /** Start time from the name, ms since the epoch (second resolution). */
  startMs: number
  bytes: number
  /** Last write, ms since the epoch. */
  modifiedMs: number
}

/** The camera's segments, oldest first (clips excluded). A missing folder has none. */
export async function listSegments(root: string, camera: string): Promise<SegmentFile[]> {
  const cameraDir = join(root, camera)
  const days = (await readdir(cameraDir).catch(() => [] as string[])).filter((d) => DAY_FOLDER.test(d)).sort()
  const found: SegmentFile[] = []
  for (const day of days) {
    const names = await readdir(join(cameraDir, day)).catch(() => [] as string[])
    const parsed = names.flatMap((name) => {
      const m = SEGMENT_FILE.exec(name)
      return m ? [{ name, startMs: Date.parse(`${day}T${m[1]}:${m[2]}:${m[3]}Z`), n: Number(m[4] ?? 1) }] : []
    })
    parsed.sort((a, b) => a.startMs - b.startMs || a.n - b.n)
    for (const p of parsed) {
      const path = join(cameraDir, day, p.name)
      const s = await stat(path).catch(() => null)
      if (s?.isFile()) found.push({ path, name: `${day}/${p.name}`, startMs: p.startMs, bytes: s.size, modifiedMs: s.mtimeMs })
    }
  }
  return found
}

export type RepairOutcome = { action: 'ok' } | { action: 'truncated'; lostBytes: number; scan: Fmp4Scan } | { action: 'removed'; reason: string }

/**
 * Makes a file a crash may have cut playable again: truncated to its last
 * complete fragment, or removed when not even one fragment is whole (a file
 * with no frame in it plays as nothing and only confuses a player).
 */
export async function repairSegment(path: string): Promise<RepairOutcome> {
  const scan = await scanFmp4(path)
  if (!scan.hasInit || scan.fragments === 0) {
    await unlink(path)
    return { action: 'removed', reason: scan.hasInit ? 'no complete fragment' : 'no complete init segment (ftyp + moov)' }
  }
  if (scan.wholeBytes < scan.fileBytes) {
    await truncate(path, scan.wholeBytes)
    return { action: 'truncated', lostBytes: scan.fileBytes - scan.wholeBytes, scan }
  }
  return { action: 'ok' }
}
