// The shapes the recorder reads and writes through, structural so the
// recorder is tested with the real packet ring and muxer and nothing of it
// depends on how they are built.

/** One compressed access unit as a packet-ring reader returns it. */
export interface PacketRecord {
  seq: bigint
  epoch: number
  keyframe: boolean
  /** Microseconds on the camera's timeline (NaN when the stream has none). */
  ptsUs: number
  dtsUs: number
  /** 0 when the stream does not say. */
  durationUs: number
  /** CLOCK_MONOTONIC ns of packet receipt: the same stamp as the frame decoded from it. */
  captureTsNs: bigint
  /** Annex B bytes; valid until the reader's next call. */
  data: Uint8Array
}

/** The stream the packets belong to, as the capture worker described it at open. */
export interface PacketStream {
  epoch: number
  codec: 'h264' | 'hevc'
  width: number
  height: number
  fps: number
  /** Annex-B parameter sets (SPS/PPS, VPS for HEVC). */
  codecConfig: Uint8Array
}

/** A fragmented-MP4 muxer (the crate's Mp4Muxer has this shape). */
export interface FragmentMuxer {
  readonly initSegment: Uint8Array
  readonly mimeCodec: string
  write(data: Uint8Array, ptsUs: number, dtsUs: number, durationUs: number, keyframe: boolean): void
  /** Closes the fragment being written and returns it (moof + mdat); empty when nothing was written. */
  cut(): Uint8Array
  close(): void
}

export interface MuxerOptions {
  codec: 'h264' | 'hevc'
  width: number
  height: number
  codecConfig: Uint8Array
  creationTimeMs?: number
  metadata?: Record<string, string>
}

export type MuxerFactory = (options: MuxerOptions) => FragmentMuxer
