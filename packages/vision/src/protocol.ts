// The seam between the detection client and a service protocol.

import type { Detection, FrameView } from './types.js'

/** A picture of the frame ready to upload. */
export interface EncodedImage {
  data: Uint8Array
  width: number
  height: number
  /** MIME type, e.g. image/jpeg. */
  type: string
}

/** Encodes a frame, scaled down to at most maxWidth wide. Must not keep a reference to frame.bytes. */
export type ImageEncoder = (frame: FrameView, maxWidth: number) => EncodedImage | Promise<EncodedImage>

/** Whatever a protocol built from the frame; opaque to the client. */
export type PreparedRequest = object

export interface DetectionProtocol {
  readonly name: string
  /**
   * Reads the frame (in place, from the ring slot) and builds what will be
   * sent. The frame may be released as soon as this resolves, so the result
   * must not reference frame.bytes.
   */
  prepare(frame: FrameView): PreparedRequest | Promise<PreparedRequest>
  /** Sends a prepared request; resolves with detections in frame pixels. */
  send(req: PreparedRequest, deadlineMs: number, signal?: AbortSignal): Promise<Detection[]>
  /** Gives back resources held by a prepared request that was not sent (or after sending). */
  recycle?(req: PreparedRequest): void
}
