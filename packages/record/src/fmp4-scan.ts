// Reads the top-level box structure of a fragmented MP4 file written by the
// recorder (ftyp, moov, then moof + mdat pairs), without reading the media:
// how far the file is whole (the end of its last complete fragment), how many
// frames it holds and how long it runs. The recorder repairs a file cut by a
// crash by truncating it there; the catalog lists segments with it.
import { open, type FileHandle } from 'node:fs/promises'

/** What a scan learned about one file. */
export interface Fmp4Scan {
  /** Bytes from the start that form a playable file (init segment + complete fragments). */
  wholeBytes: number
  /** The file's size when scanned. */
  fileBytes: number
  /** ftyp and moov were both complete. */
  hasInit: boolean
  /** Complete fragments (moof followed by its whole mdat). */
  fragments: number
  /** Samples (frames) in the complete fragments. */
  frames: number
  /** The media timescale (ticks per second) from the track's mdhd; 0 when there is no init. */
  timescale: number
  /** Decode time of the first sample and end of the last, in seconds (0 when there is none). */
  firstDecodeS: number
  endDecodeS: number
}

interface Box {
  type: string
  start: number
  headerBytes: number
  /** Total size; Infinity for a box that runs to the end of the file (size 0). */
  size: number
}

const HEADER = 8
const LARGE_HEADER = 16

/** Scans the file at path; never throws for a damaged file (that is what the result describes). */
export async function scanFmp4(path: string): Promise<Fmp4Scan> {
  const file = await open(path, 'r')
  try {
    return await scanHandle(file)
  } finally {
    await file.close()
  }
}

async function scanHandle(file: FileHandle): Promise<Fmp4Scan> {
  const fileBytes = (await file.stat()).size
  const scan: Fmp4Scan = { wholeBytes: 0, fileBytes, hasInit: false, fragments: 0, frames: 0, timescale: 0, firstDecodeS: 0, endDecodeS: 0 }
  let sawFtyp = false
  let defaultDuration = 0
  let pending: { samples: number; startTicks: number; durationTicks: number } | null = null
  let offset = 0
  for (;;) {
    const box = await readBoxHeader(file, offset, fileBytes)
    if (!box || !Number.isFinite(box.size) || box.start + box.size > fileBytes) break
    const end = box.start + box.size
    if (box.type === 'ftyp') sawFtyp = true
    else if (box.type === 'moov') {
      if (!sawFtyp) break
      const moov = await readBody(file, box)
      scan.timescale = findTimescale(moov)
      defaultDuration = findTrexDuration(moov)
      scan.hasInit = scan.timescale > 0
      if (!scan.hasInit) break
      scan.wholeBytes = end
    } else if (box.type === 'moof') {
      if (!scan.hasInit) break
      pending = readFragment(await readBody(file, box), defaultDuration)
    } else if (box.type === 'mdat') {
      if (pending) {
        const startS = pending.startTicks / scan.timescale
        if (scan.fragments === 0) scan.firstDecodeS = startS
        scan.fragments++
        scan.frames += pending.samples
        scan.endDecodeS = (pending.startTicks + pending.durationTicks) / scan.timescale
        scan.wholeBytes = end
        pending = null
      }
    } else if (scan.hasInit && pending === null) {
      // A box the recorder does not write between fragments (mfra at a clean close, free): harmless.
      scan.wholeBytes = end
    }
    offset = end
    if (offset >= fileBytes) break
  }
  return scan
}

async function readBoxHeader(file: FileHandle, start: number, fileBytes: number): Promise<Box | null> {
  if (start + HEADER > fileBytes) return null
  const head = Buffer.alloc(LARGE_HEADER)
  const { bytesRead } = await file.read(head, 0, Math.min(LARGE_HEADER, fileBytes - start), start)
  if (bytesRead < HEADER) return null
  const size32 = head.readUInt32BE(0)
  const type = head.toString('latin1', 4, 8)
  if (size32 === 1) {
    if (bytesRead < LARGE_HEADER) return null
    const size = Number(head.readBigUInt64BE(8))
    return size < LARGE_HEADER ? null : { type, start, headerBytes: LARGE_HEADER, size }
  }
  if (size32 === 0) return { type, start, headerBytes: HEADER, size: Infinity }
  return size32 < HEADER ? null : { type, start, headerBytes: HEADER, size: size32 }
}

/** moov and moof are small (kilobytes): read them whole. */
async function readBody(file: FileHandle, box: Box): Promise<Buffer> {
  const length = box.size - box.headerBytes
  const body = Buffer.alloc(length)
  await file.read(body, 0, length, box.start + box.headerBytes)
  return body
}

/** The child boxes of a container body, as [type, body] pairs. */
function* children(body: Buffer): Generator<[string, Buffer]> {
  let at = 0
  while (at + HEADER <= body.length) {
    let size = body.readUInt32BE(at)
    const type = body.toString('latin1', at + 4, at + 8)
    let header = HEADER
    if (size === 1 && at + LARGE_HEADER <= body.length) {
      size = Number(body.readBigUInt64BE(at + 8))
      header = LARGE_HEADER
    } else if (size === 0) size = body.length - at
    if (size < header || at + size > body.length) return
    yield [type, body.subarray(at + header, at + size)]
    at += size
  }
}

function child(body: Buffer, path: readonly string[]): Buffer | null {
  let current: Buffer | null = body
  for (const type of path) {
    let found: Buffer | null = null
    for (const [t, b] of children(current)) {
      if (t === type) {
        found = b
        break
      }
    }
    if (!found) return null
    current = found
  }
  return current
}

/** mdhd: version 0 has 32-bit times (timescale at 12), version 1 64-bit (timescale at 20). */
function findTimescale(moov: Buffer): number {
  const mdhd = child(moov, ['trak', 'mdia', 'mdhd'])
  if (!mdhd || mdhd.length < 24) return 0
  return mdhd[0] === 1 ? mdhd.readUInt32BE(20) : mdhd.readUInt32BE(12)
}

/** trex's default sample duration (moov/mvex/trex, after version/flags and track id and description index). */
function findTrexDuration(moov: Buffer): number {
  const trex = child(moov, ['mvex', 'trex'])
  return trex && trex.length >= 16 ? trex.readUInt32BE(12) : 0
}

const TFHD_BASE_DATA_OFFSET = 0x1
const TFHD_SAMPLE_DESCRIPTION = 0x2
const TFHD_DEFAULT_DURATION = 0x8
const TRUN_DATA_OFFSET = 0x1
const TRUN_FIRST_SAMPLE_FLAGS = 0x4
const TRUN_SAMPLE_DURATION = 0x100
const TRUN_SAMPLE_SIZE = 0x200
const TRUN_SAMPLE_FLAGS = 0x400
const TRUN_SAMPLE_CTS = 0x800

/** Samples, start and duration (in track ticks) of one moof's first track fragment. */
function readFragment(moof: Buffer, trexDuration: number): { samples: number; startTicks: number; durationTicks: number } | null {
  const traf = child(moof, ['traf'])
  if (!traf) return null
  const tfhd = child(traf, ['tfhd'])
  const tfdt = child(traf, ['tfdt'])
  let defaultDuration = trexDuration
  if (tfhd && tfhd.length >= 8) {
    const flags = tfhd.readUInt32BE(0) & 0xffffff
    let at = 8
    if (flags & TFHD_BASE_DATA_OFFSET) at += 8
    if (flags & TFHD_SAMPLE_DESCRIPTION) at += 4
    if (flags & TFHD_DEFAULT_DURATION && at + 4 <= tfhd.length) defaultDuration = tfhd.readUInt32BE(at)
  }
  const startTicks = tfdt && tfdt.length >= 8 ? (tfdt[0] === 1 ? Number(tfdt.readBigUInt64BE(4)) : tfdt.readUInt32BE(4)) : 0
  let samples = 0
  let durationTicks = 0
  for (const [type, trun] of children(traf)) {
    if (type !== 'trun' || trun.length < 8) continue
    const flags = trun.readUInt32BE(0) & 0xffffff
    const count = trun.readUInt32BE(4)
    let at = 8
    if (flags & TRUN_DATA_OFFSET) at += 4
    if (flags & TRUN_FIRST_SAMPLE_FLAGS) at += 4
    const entry = [TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, TRUN_SAMPLE_FLAGS, TRUN_SAMPLE_CTS].filter((f) => flags & f).length * 4
    for (let i = 0; i < count; i++) {
      durationTicks += flags & TRUN_SAMPLE_DURATION && at + 4 <= trun.length ? trun.readUInt32BE(at) : defaultDuration
      at += entry
    }
    samples += count
  }
  return { samples, startTicks, durationTicks }
}
