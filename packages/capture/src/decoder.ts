// The seam between the capture loop and a decoder. The loop only sees these
// shapes; native-source.ts adapts @heart/native to them, and the unit tests
// drive the loop with scripted fakes.
import type { PacketBatch } from '@heart/native'
import type { FrameMeta } from '@heart/ring'
import type { CaptureConfig, CaptureExpectation, DecoderChoice, SourceSpec } from './types.js'

/** What an opened source delivers (also what `heart probe` prints). */
export interface SourceInfo {
  codec: string
  width: number
  height: number
  /** Frames per second the stream announces, if it does. */
  fps: number | null
  /** The stream's own pixel format, before conversion into the ring's. */
  pixFmt: string
  /** The decoder path in use: 'software', 'vaapi', 'cuda' or 'v4l2m2m'. */
  backend: string
  /** Why a hardware decoder is not used, when one was tried. */
  fallbackReason?: string | null
  /** Bytes one output frame needs (defaults to frameLayout(width, height, the ring's pixFmt)). */
  frameBytes?: number
}

/**
 * A frame the decoder wrote into the slot: the ring's frame metadata
 * (capture / decode stamps, size, format, planes) plus what only the decoder knows.
 */
export interface DecodedFrame extends Pick<FrameMeta, 'captureTsNs' | 'decodeTsNs' | 'width' | 'height' | 'pixFmt' | 'planes'> {
  keyframe: boolean
  /** Decoded with errors concealed (the decoder said so). */
  corrupt: boolean
  /** Time spent decoding this frame. */
  decodeMs: number
  /** Packets or frames the decoder rejected since the previous frame. */
  decodeErrors: number
}

/**
 * The compressed packets of an opened source (H.264 / HEVC access units,
 * Annex B), for the packet ring: taken as records (the crate's layout, see
 * packet-tap.ts) after each frame.
 */
export interface PacketSource {
  codec: 'h264' | 'hevc'
  /** Bytes of each record's fixed header (the crate's PACKET_RECORD_HEADER_BYTES). */
  headerBytes: number
  /** Annex-B parameter sets; null until the stream has sent them. */
  codecConfig(): Uint8Array | null
  take(dst: Uint8Array): PacketBatch
}

export interface OpenedSource {
  readonly info: SourceInfo
  /** Set when packets were asked for and the stream's codec has them. */
  readonly packets?: PacketSource
  /** The next frame written into dst, or null at the end of a finite source. */
  read(dst: Uint8Array, signal: AbortSignal): Promise<DecodedFrame | null>
  close(): void
}

export interface OpenRequest {
  spec: SourceSpec
  pixFmt: CaptureConfig['pixFmt']
  expect: CaptureExpectation
  /** Connect + first keyframe budget; also the per-read budget the decoder may enforce itself. */
  timeoutMs: number
  decodeThreads: number
  decoder: DecoderChoice
  /** Also hand over the compressed packets (the recorder and live passthrough read them). */
  packets?: boolean
  /** A region of the source and a size for the frames written (absent: the whole frame at its size). */
  output?: CaptureConfig['output']
  /** At most this many frames a second are delivered. */
  fpsCap?: number
}

export type SourceOpener = (request: OpenRequest, signal: AbortSignal) => Promise<OpenedSource>
