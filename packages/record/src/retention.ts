// Which segments to delete: oldest first, by age (retain.hours) and by free
// space (retain.minFreeMb). A pure plan over a listing, so the rules are
// tested without filling a disk; the recorder applies it while recording.
import { statfs } from 'node:fs/promises'
import type { SegmentFile } from './segment-files.js'

export interface RetentionRules {
  hours: number | undefined
  minFreeMb: number
}

export interface RetentionInput {
  /** Oldest first (listSegments' order). */
  segments: readonly SegmentFile[]
  nowMs: number
  /** Free bytes on the recording file system now. */
  freeBytes: number
  /** Never deleted: the segment being written. */
  writing: ReadonlySet<string>
}

export interface RetentionPlan {
  delete: { segment: SegmentFile; why: 'age' | 'free_space' }[]
  /** Free bytes after the deletions. */
  freeBytesAfter: number
  /** Still under minFreeMb after deleting everything allowed: recording must pause. */
  stillShort: boolean
}

export function planRetention(rules: RetentionRules, input: RetentionInput): RetentionPlan {
  const plan: RetentionPlan = { delete: [], freeBytesAfter: input.freeBytes, stillShort: false }
  const minFree = rules.minFreeMb * 1024 * 1024
  const oldestAllowedMs = rules.hours === undefined ? -Infinity : input.nowMs - rules.hours * 3600_000
  for (const segment of input.segments) {
    if (input.writing.has(segment.path)) continue
    // A segment's end is its last write: it is old once all of it is.
    const why = segment.modifiedMs < oldestAllowedMs ? 'age' : plan.freeBytesAfter < minFree ? 'free_space' : null
    if (!why) continue
    plan.delete.push({ segment, why })
    plan.freeBytesAfter += segment.bytes
  }
  plan.stillShort = plan.freeBytesAfter < minFree
  return plan
}

/** Free bytes for an unprivileged writer on the file system holding path. */
export async function freeBytesAt(path: string): Promise<number> {
  const s = await statfs(path)
  return s.bavail * s.bsize
}
