// The listing behind GET /cameras/NAME/recordings: every segment with its
// start, end and frame count, from the files themselves (the box scan), so
// the listing is right after a crash, a repair or a copy from another box.
// Scans are kept by size and modification time: a listing rescans only the
// files that changed (the one being written).
import { scanFmp4, type Fmp4Scan } from './fmp4-scan.js'
import { listSegments } from './segment-files.js'

export interface RecordingEntry {
  path: string
  startMs: number
  endMs: number
  frames: number
  bytes: number
}

export class RecordingCatalog {
  private readonly scans = new Map<string, { bytes: number; modifiedMs: number; scan: Fmp4Scan }>()

  constructor(private readonly root: string, private readonly camera: string) {}

  /** Segments overlapping [from, to] (ms since 1970; either open), oldest first. */
  async list(range: { from?: number | undefined; to?: number | undefined } = {}): Promise<RecordingEntry[]> {
    const segments = await listSegments(this.root, this.camera)
    const live = new Set(segments.map((s) => s.path))
    for (const path of this.scans.keys()) if (!live.has(path)) this.scans.delete(path)
    const out: RecordingEntry[] = []
    for (const s of segments) {
      let cached = this.scans.get(s.path)
      if (!cached || cached.bytes !== s.bytes || cached.modifiedMs !== s.modifiedMs) {
        const scan = await scanFmp4(s.path).catch(() => null)
        if (!scan) continue
        cached = { bytes: s.bytes, modifiedMs: s.modifiedMs, scan }
        this.scans.set(s.path, cached)
      }
      const { scan } = cached
      const endMs = s.startMs + Math.max(0, scan.endDecodeS - scan.firstDecodeS) * 1000
      if (range.from !== undefined && endMs < range.from) continue
      if (range.to !== undefined && s.startMs > range.to) continue
      out.push({ path: s.path, startMs: s.startMs, endMs, frames: scan.frames, bytes: scan.wholeBytes })
    }
    return out
  }
}
