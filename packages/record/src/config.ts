// The `record:` section (DESIGN.md "Recording and captures"): where segments
// go, how long they are, what is kept, and which events cut clips. One
// schema: `heart run` validates the file with it and `heart config schema`
// prints it.
import { isAbsolute, resolve } from 'node:path'
import { array, boolean, number, object, oneOf, optional, string, type Infer } from '@heart/kernel'

/** Events that can cut a clip automatically. */
export const CLIP_EVENT_NAMES = ['motion', 'detection'] as const
export type ClipEventName = (typeof CLIP_EVENT_NAMES)[number]

export const recordConfigSchema = object({
  /** Record the camera's compressed stream to segment files. Off unless written. */
  enabled: boolean({ default: false }),
  /** Folder for segments and clips (relative to the config file's folder); one sub-folder per camera. */
  dir: string({ default: 'recordings', hint: 'a folder path' }),
  /** Length of one segment file; each starts at a keyframe, so segments run up to one GOP longer. */
  segmentSeconds: number({ min: 2, max: 3600, default: 60 }),
  /** Length of one fragment (the most a kill -9 can lose); cut at the next keyframe after it, or at any frame after twice it. */
  fragmentSeconds: number({ min: 0.1, max: 10, default: 1 }),
  retain: object({
    /** Delete segments older than this (absent: age alone deletes nothing). */
    hours: optional(number({ min: 0.01, max: 24 * 366 })),
    /** Keep at least this much free space on the recording file system, deleting the oldest segments first. */
    minFreeMb: number({ min: 0, max: 1e9, default: 1024 }),
  }),
  /** A clip starts at the keyframe at or before event - preSeconds (the packet ring holds this much plus one GOP). */
  preSeconds: number({ min: 0, max: 120, default: 5 }),
  /** A clip runs this long after its event (a later event of the same kind extends it). */
  postSeconds: number({ min: 0, max: 600, default: 10 }),
  /**
   * The most the camera sends, for sizing the packet ring (it holds
   * preSeconds plus a GOP of history at this rate; a faster stream holds less).
   */
  maxBitrateMbps: number({ min: 0.1, max: 400, default: 16 }),
  /** Longest keyframe interval expected of the camera; the ring keeps one more GOP than preSeconds. */
  maxGopSeconds: number({ min: 0.1, max: 60, default: 4 }),
  /** An event clip that later events keep extending ends this long after its first event (the next event starts another). */
  maxClipSeconds: number({ min: 1, max: 3600, default: 60 }),
  /** Events that cut a clip by themselves; POST /cameras/NAME/clips always can. */
  on: array(oneOf(CLIP_EVENT_NAMES), { default: [] }),
})

export type RecordConfig = Infer<typeof recordConfigSchema>

/** The record folder as an absolute path: relative paths start at the config file's folder. */
export function recordRoot(config: Pick<RecordConfig, 'dir'>, configDir: string): string {
  return isAbsolute(config.dir) ? config.dir : resolve(configDir, config.dir)
}
