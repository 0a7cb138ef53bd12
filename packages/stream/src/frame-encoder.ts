// The encoder's per-frame work, apart from the worker plumbing so tests can
// drive it with fake leases and a fake encoder: encode the frame in place (no
// copy, no RGB detour: the encoder reads the slot's own pixel format), release
// the lease, hand the JPEG to the main thread.

import { invalidEncoderConfig } from './errors.js'
import type { JpegShare } from './jpeg-share.js'
import type { EncodeJpeg, EncoderConfig, JpegSourceLayout } from './types.js'

/** The part of a ring lease the encoder reads (structurally @heart/ring's FrameLease). */
export interface EncoderLease {
  seq: bigint
  captureTsNs: bigint
  width: number
  height: number
  pixFmt: string
  planes: JpegSourceLayout['planes']
  flags: number
  bytes: Uint8Array
}

export interface ResolvedEncoderConfig {
  fps: number
  width: number
  height: number
  quality: number
  encoderModule: string
}

export const ENCODER_DEFAULTS: ResolvedEncoderConfig = {
  fps: 15,
  // 960 wide (height by aspect ratio): legible on a downlink, cheap to encode.
  width: 960,
  height: 0,
  quality: 75,
  encoderModule: '@heart/native',
}

/** A run of failed encodes this long means the encoder cannot work: crash so the supervisor says why. */
export const MAX_CONSECUTIVE_ENCODE_FAILURES = 30

export function resolveEncoderConfig(config: EncoderConfig = {}): ResolvedEncoderConfig {
  const c = { ...ENCODER_DEFAULTS, ...stripUndefined(config) }
  // A height alone means "this tall, width by aspect ratio", not the default width.
  if (config.height !== undefined && config.width === undefined) c.width = 0
  if (typeof c.encoderModule !== 'string' || c.encoderModule.length === 0) {
    throw invalidEncoderConfig('encoderModule', c.encoderModule, 'a module specifier or file URL')
  }
  if (!(typeof c.fps === 'number' && c.fps > 0 && c.fps <= 240)) throw invalidEncoderConfig('fps', c.fps, 'a number in (0, 240]')
  if (!(Number.isInteger(c.quality) && c.quality >= 1 && c.quality <= 100)) {
    throw invalidEncoderConfig('quality', c.quality, 'an integer from 1 (smallest) to 100 (best)')
  }
  for (const field of ['width', 'height'] as const) {
    const v = c[field]
    if (!(Number.isInteger(v) && v >= 0 && v <= 8192)) throw invalidEncoderConfig(field, v, 'an integer from 0 (keep source size) to 8192')
  }
  return c
}

/**
 * Output size for a source frame: the configured size, with a missing side
 * following the source's aspect ratio and never upscaling (a 960-wide default
 * must not blow a 640x360 source up); both sides given means exactly that.
 * Always even, because 4:2:0 JPEG chroma covers 2x2 blocks.
 */
export function outputSize(srcWidth: number, srcHeight: number, cfg: { width: number; height: number }): { width: number; height: number } {
  let width = cfg.width
  let height = cfg.height
  if (width === 0 && height === 0) {
    width = srcWidth
    height = srcHeight
  } else if (width === 0) {
    height = Math.min(height, srcHeight)
    width = Math.round((srcWidth * height) / srcHeight)
  } else if (height === 0) {
    width = Math.min(width, srcWidth)
    height = Math.round((srcHeight * width) / srcWidth)
  }
  return { width: Math.max(2, width & ~1), height: Math.max(2, height & ~1) }
}

export interface FrameEncoderStats {
  encoded: number
  failed: number
  lastEncodeUs: number
  bytesTotal: number
}

export interface FrameEncoderOptions {
  encode: EncodeJpeg
  share: JpegShare
  config: ResolvedEncoderConfig
  /** Monotonic clock in ns (injectable for tests). */
  now?: () => bigint
  /** Told about each failed encode (the worker logs it); the frame is skipped. */
  onError?: (err: unknown, stats: FrameEncoderStats) => void
}

/**
 * Encodes ring frames in place and hands the JPEGs to the main thread through
 * the share. The rate cap is the ring consumer's `fpsCap` (frames over it are
 * counted there as `rate_limited`), so every frame this sees gets encoded.
 */
export class FrameEncoder {
  readonly stats: FrameEncoderStats = { encoded: 0, failed: 0, lastEncodeUs: 0, bytesTotal: 0 }
  private consecutiveFailures = 0
  private readonly now: () => bigint

  constructor(private readonly opts: FrameEncoderOptions) {
    this.now = opts.now ?? (() => process.hrtime.bigint())
  }

  /**
   * Encodes one frame and calls `release` as soon as the encoder is done
   * reading the slot, before the JPEG is published. Throws (crashing the
   * worker, so the supervisor records why) only after
   * MAX_CONSECUTIVE_ENCODE_FAILURES failures in a row: one bad frame is skipped.
   */
  onFrame(lease: EncoderLease, release: () => void): void {
    const { encode, share, config } = this.opts
    // Read what we need from the lease before releasing it: after release the
    // ring may reuse the slot for a newer frame.
    const { seq, captureTsNs, width: srcWidth, height: srcHeight, flags } = lease
    const size = outputSize(srcWidth, srcHeight, config)
    const startNs = this.now()
    let jpeg: Uint8Array
    try {
      jpeg = encode(
        lease.bytes,
        { width: srcWidth, height: srcHeight, pixFmt: lease.pixFmt, planes: lease.planes },
        { width: size.width, height: size.height, quality: config.quality },
      )
    } catch (err) {
      this.failed(err)
      return
    } finally {
      release()
    }
    const doneNs = this.now()
    const encodeUs = Number((doneNs - startNs) / 1000n)
    try {
      share.write(jpeg, {
        seq,
        captureTsNs,
        encodedTsNs: doneNs,
        srcWidth,
        srcHeight,
        width: size.width,
        height: size.height,
        encodeUs,
        flags,
      })
    } catch (err) {
      // A JPEG larger than the share's slot (an unusually busy picture at high
      // quality) is skipped like a failed encode, not fatal on its own.
      this.failed(err)
      return
    }
    this.consecutiveFailures = 0
    this.stats.encoded++
    this.stats.lastEncodeUs = encodeUs
    this.stats.bytesTotal += jpeg.byteLength
  }

  private failed(err: unknown): void {
    this.stats.failed++
    this.consecutiveFailures++
    this.opts.onError?.(err, this.stats)
    if (this.consecutiveFailures >= MAX_CONSECUTIVE_ENCODE_FAILURES) throw err
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
