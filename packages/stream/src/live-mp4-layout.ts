// The small shared block between the main thread and a camera's live-mp4
// worker: the main thread says whether anyone watches (the worker muxes only
// then), the worker says what it serves (the MIME codec the page checks with
// MediaSource.isTypeSupported, or why it cannot serve). The fragments
// themselves travel in a second packet ring, one record per moof + mdat; its
// stream description's codecConfig slot holds the init segment.
import { SharedBlock, defineSharedBlock, type SharedBlockOf, waitOnWord } from '@heart/ring'

export const LIVE_MP4_MAGIC = 0x4c4d5034 // 'LMP4'

export const liveMp4Layout = defineSharedBlock({
  name: 'live mp4 control',
  magic: LIVE_MP4_MAGIC,
  version: 1,
  i32: [
    /** 1 while a viewer is connected (main thread writes, the worker waits on it). */
    'wanted',
    /** Seqlock word of the state and the strings below (the worker writes). */
    'generation',
    'state',
  ],
  f64: [
    /** Fragments published since the worker started. */
    'fragments',
    /** Camera packets the worker's own reader lost (it fell behind the packet ring), counted as live_slow by the ring. */
    'packetsLost',
  ],
  strings: { mimeCodec: 96, problem: 240 },
})
type LiveMp4Block = SharedBlockOf<typeof liveMp4Layout>

/** What the worker can serve now. */
export const LIVE_MP4_STATES = Object.freeze(['starting', 'ready', 'muxing', 'failed'] as const)
export type LiveMp4State = (typeof LIVE_MP4_STATES)[number]

export interface LiveMp4Status {
  state: LiveMp4State
  /** RFC 6381 codec of the stream (`avc1.64001f`), '' before the first stream. */
  mimeCodec: string
  /** Why the worker cannot serve (state 'failed'), else ''. */
  problem: string
  fragments: number
  packetsLost: number
}

const W = liveMp4Layout.i32

export class LiveMp4Control {
  private constructor(private readonly block: LiveMp4Block) {}

  static create(): LiveMp4Control {
    return new LiveMp4Control(SharedBlock.create(liveMp4Layout))
  }

  static attach(buffer: unknown): LiveMp4Control {
    return new LiveMp4Control(SharedBlock.attach(liveMp4Layout, buffer))
  }

  get buffer(): SharedArrayBuffer {
    return this.block.buffer
  }

  setWanted(wanted: boolean): void {
    Atomics.store(this.block.i32, W.wanted, wanted ? 1 : 0)
    Atomics.notify(this.block.i32, W.wanted)
  }

  wanted(): boolean {
    return Atomics.load(this.block.i32, W.wanted) !== 0
  }

  /** Worker side: resolves once a viewer wants fragments or after timeoutMs; never blocks the thread. */
  async waitWanted(timeoutMs: number): Promise<void> {
    await waitOnWord(this.block.i32, W.wanted, 0, timeoutMs)
  }

  /** Worker side. */
  report(status: Partial<LiveMp4Status>): void {
    const b = this.block
    b.beginWrite(W.generation)
    if (status.state !== undefined) b.i32[W.state] = LIVE_MP4_STATES.indexOf(status.state)
    if (status.mimeCodec !== undefined) b.writeString('mimeCodec', status.mimeCodec)
    if (status.problem !== undefined) b.writeString('problem', status.problem)
    if (status.fragments !== undefined) b.f64[liveMp4Layout.f64.fragments] = status.fragments
    if (status.packetsLost !== undefined) b.f64[liveMp4Layout.f64.packetsLost] = status.packetsLost
    b.endWrite(W.generation)
  }

  status(): LiveMp4Status {
    const read = this.block.snapshot(
      (b) => ({
        state: LIVE_MP4_STATES[b.i32[W.state]!] ?? 'starting',
        mimeCodec: b.readString('mimeCodec'),
        problem: b.readString('problem'),
        fragments: b.f64[liveMp4Layout.f64.fragments]!,
        packetsLost: b.f64[liveMp4Layout.f64.packetsLost]!,
      }),
      1000,
      W.generation,
    )
    return read ?? { state: 'starting', mimeCodec: '', problem: '', fragments: 0, packetsLost: 0 }
  }
}
