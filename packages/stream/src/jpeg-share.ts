// The JPEG share: a two-slot SharedArrayBuffer through which the encoder worker
// hands finished JPEGs to the main thread.
//
// Why shared memory rather than postMessage with a transferred ArrayBuffer: the
// encoder is a kernel service, and the kernel's worker contract gives a service
// `ctx.shared` buffers and a low-rate `ctx.emit`, not a private message port.
// A share fits that contract without a side channel, allocates nothing per
// frame on the worker side, and lets the main thread pick up frames with
// Atomics.waitAsync (or a poll from the tick loop) without a message per frame.
// The main thread copies each JPEG out once (~100 kB, tens of microseconds), and
// that one immutable Buffer is shared by every viewer: socket writes complete
// asynchronously, so viewers must never be handed a view into memory the
// encoder will overwrite.
//
// Each slot is guarded by a seqlock: the writer makes the generation odd,
// writes, makes it even; a reader copies and keeps the copy only if the
// generation was even and unchanged around the copy. The writer never waits.

import { SharedBlock, waitOnWord, type SharedBlockOf } from '@heart/ring'
import { badJpegShare, jpegTooLarge } from './errors.js'
import {
  S64_CAPTURE_TS,
  S64_ENCODED_TS,
  S64_SEQ,
  SLOT_COUNT,
  S_ENCODE_US,
  S_FLAGS,
  S_GEN,
  S_HEIGHT,
  S_LENGTH,
  S_SRC_HEIGHT,
  S_SRC_WIDTH,
  S_WIDTH,
  shareByteLength,
  shareLayout,
  shareTailBytes,
  slotDataByte,
  slotHeaderByte,
} from './share-layout.js'
import type { EncodedFrame, JpegFrameMeta } from './types.js'

/** Default slot size: a 1080p JPEG at quality 2 stays well under 1 MiB. */
export const DEFAULT_SLOT_BYTES = 1 << 20

const MAX_READ_ATTEMPTS = 4
const H = shareLayout.i32

export class JpegShare {
  readonly buffer: SharedArrayBuffer
  readonly slotBytes: number
  private readonly block: SharedBlockOf<typeof shareLayout>
  private readonly i32: Int32Array
  private readonly i64: BigInt64Array
  private readonly u8: Uint8Array

  private constructor(block: SharedBlockOf<typeof shareLayout>) {
    this.block = block
    this.buffer = block.buffer
    this.i32 = block.i32
    this.i64 = new BigInt64Array(block.buffer, 0, Math.floor(block.buffer.byteLength / 8))
    this.u8 = block.u8
    this.slotBytes = this.i32[H.slotBytes]!
  }

  /** Creates a share with room for JPEGs up to `slotBytes` bytes. */
  static create(slotBytes = DEFAULT_SLOT_BYTES): JpegShare {
    if (!Number.isInteger(slotBytes) || slotBytes < 1024) {
      throw badJpegShare(`slotBytes ${slotBytes} must be an integer of at least 1024`)
    }
    const rounded = Math.ceil(slotBytes / 8) * 8
    const block = SharedBlock.create(shareLayout, shareTailBytes(rounded))
    block.i32[H.slotCount] = SLOT_COUNT
    block.i32[H.slotBytes] = rounded
    block.i32[H.latestSlot] = -1
    return new JpegShare(block)
  }

  /** Attaches to a share created elsewhere (the worker side, or a second reader). */
  static attach(buffer: unknown): JpegShare {
    const block = SharedBlock.attach(shareLayout, buffer)
    if (block.i32[H.slotCount] !== SLOT_COUNT || block.buffer.byteLength !== shareByteLength(block.i32[H.slotBytes]!)) {
      throw badJpegShare('length does not match its header')
    }
    return new JpegShare(block)
  }

  /** Number of publishes so far (wraps at 2^32); what readers wait on. */
  published(): number {
    return Atomics.load(this.i32, H.published)
  }

  /** Main-thread side: says whether anyone wants JPEGs now, and wakes a waiting encoder. */
  setWanted(wanted: boolean): void {
    Atomics.store(this.i32, H.wanted, wanted ? 1 : 0)
    Atomics.notify(this.i32, H.wanted)
  }

  /** Encoder side: true while someone wants JPEGs. */
  wanted(): boolean {
    return Atomics.load(this.i32, H.wanted) !== 0
  }

  /**
   * Encoder side: resolves once JPEGs are wanted or after `timeoutMs`,
   * without blocking the worker's event loop (Atomics.waitAsync).
   */
  async waitWanted(timeoutMs: number): Promise<void> {
    await waitOnWord(this.i32, H.wanted, 0, timeoutMs)
  }

  /**
   * Writer side (one writer only): copies `jpeg` into the free slot, publishes
   * it and wakes waiting readers. Throws if the JPEG does not fit.
   */
  write(jpeg: Uint8Array, meta: JpegFrameMeta): void {
    if (jpeg.byteLength > this.slotBytes) throw jpegTooLarge(jpeg.byteLength, this.slotBytes)
    const latest = Atomics.load(this.i32, H.latestSlot)
    const slot = latest < 0 ? 0 : (latest + 1) % SLOT_COUNT
    const h = slotHeaderByte(slot) / 4
    const h64 = slotHeaderByte(slot) / 8
    // Odd: readers of this slot discard what they copy (the helper steps past
    // an odd generation a crashed encoder worker left behind).
    this.block.beginWrite(h + S_GEN)
    this.u8.set(jpeg, slotDataByte(slot, this.slotBytes))
    this.i32[h + S_LENGTH] = jpeg.byteLength
    this.i32[h + S_WIDTH] = meta.width
    this.i32[h + S_HEIGHT] = meta.height
    this.i32[h + S_SRC_WIDTH] = meta.srcWidth
    this.i32[h + S_SRC_HEIGHT] = meta.srcHeight
    this.i32[h + S_ENCODE_US] = meta.encodeUs
    this.i32[h + S_FLAGS] = meta.flags
    this.i64[h64 + S64_SEQ] = meta.seq
    this.i64[h64 + S64_CAPTURE_TS] = meta.captureTsNs
    this.i64[h64 + S64_ENCODED_TS] = meta.encodedTsNs
    this.block.endWrite(h + S_GEN) // even again: complete
    Atomics.store(this.i32, H.latestSlot, slot)
    Atomics.add(this.i32, H.published, 1)
    Atomics.notify(this.i32, H.published)
  }

  /**
   * Reader side: a private copy of the latest complete JPEG, or null when none
   * was published yet (or the writer lapped this reader on every attempt,
   * which only happens if a copy takes longer than a frame interval).
   */
  readLatest(): EncodedFrame | null {
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      const slot = Atomics.load(this.i32, H.latestSlot)
      if (slot < 0) return null
      const h = slotHeaderByte(slot) / 4
      const h64 = slotHeaderByte(slot) / 8
      const genBefore = Atomics.load(this.i32, h + S_GEN)
      if ((genBefore & 1) === 1) continue
      const length = this.i32[h + S_LENGTH]!
      if (length < 0 || length > this.slotBytes) continue
      const start = slotDataByte(slot, this.slotBytes)
      const jpeg = Buffer.from(this.u8.subarray(start, start + length)) // copies
      const meta: JpegFrameMeta = {
        seq: this.i64[h64 + S64_SEQ]!,
        captureTsNs: this.i64[h64 + S64_CAPTURE_TS]!,
        encodedTsNs: this.i64[h64 + S64_ENCODED_TS]!,
        width: this.i32[h + S_WIDTH]!,
        height: this.i32[h + S_HEIGHT]!,
        srcWidth: this.i32[h + S_SRC_WIDTH]!,
        srcHeight: this.i32[h + S_SRC_HEIGHT]!,
        encodeUs: this.i32[h + S_ENCODE_US]!,
        flags: this.i32[h + S_FLAGS]!,
      }
      if (Atomics.load(this.i32, h + S_GEN) === genBefore) return { jpeg, meta }
    }
    return null
  }

  /**
   * Main-thread pump: calls `onFrame` for each newly published JPEG (the latest
   * one only when several were published meanwhile) until the returned stop
   * function is called. Uses Atomics.waitAsync, so it never blocks the event
   * loop, and a pending wait does not keep the process alive.
   */
  pump(onFrame: (frame: EncodedFrame) => void, onError: (err: unknown) => void = reportPumpError): () => void {
    let stopped = false
    let seen = this.published()
    const loop = async (): Promise<void> => {
      while (!stopped) {
        const waited = Atomics.waitAsync(this.i32, H.published, seen)
        if (waited.async) await waited.value
        if (stopped) return
        const now = this.published()
        if (now === seen) continue
        seen = now
        const frame = this.readLatest()
        if (frame) onFrame(frame)
      }
    }
    // A throwing listener must not leave the pump silently dead: report and go on.
    const run = (): void => {
      loop().catch((err: unknown) => {
        onError(err)
        if (!stopped) run()
      })
    }
    run()
    return () => {
      stopped = true
      Atomics.notify(this.i32, H.published) // release the pending waitAsync
    }
  }
}

function reportPumpError(err: unknown): void {
  process.emitWarning(`@heart/stream: a JPEG share listener threw: ${(err as Error)?.stack ?? String(err)}`)
}
