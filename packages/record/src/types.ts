// The shapes the recorder reads and writes through: the packet ring's own
// records and stream description, and the muxer as a factory, so tests and
// the worker hand in the crate's Mp4Muxer the same way.
import type { Mp4MuxerOptions } from '@heart/native'

export type { PacketRecord, PacketStream } from '@heart/ring'

/** A fragmented-MP4 muxer (the crate's Mp4Muxer has this shape). */
export interface FragmentMuxer {
  readonly initSegment: Uint8Array
  readonly mimeCodec: string
  write(data: Uint8Array, ptsUs: number, dtsUs: number, durationUs: number, keyframe: boolean): void
  /** Closes the fragment being written and returns it (moof + mdat); empty when nothing was written. */
  cut(): Uint8Array
  close(): void
}

export type MuxerOptions = Mp4MuxerOptions

export type MuxerFactory = (options: MuxerOptions) => FragmentMuxer
