// The consumer watchdog. A worker that busy-loops cannot answer a message,
// and one whose handler never settles answers every message but takes no
// frame, so neither can be judged by asking it. Instead each consumer worker
// stamps two counters into a small shared block, and the supervisor, on the
// main thread, reads them each tick:
//
// - `frames`: +1 for every frame its handler finished with;
// - `turns`: +1 for every turn of its event loop (a timer and each yield),
//   which tells a blocked loop (busy loop) from a pending promise;
// - `ringIndex`: its place in the ring once joined (-1 before), so the main
//   thread can read how many frames wait for it without asking it.
//
// A consumer with frames queued and no frame finished for `stallMs` is
// stalled. The check is a few Atomics loads and no allocation: it runs in
// the tick loop.
import { SharedBlock, defineSharedBlock, type SharedBlockOf } from '@heart/ring'

export const consumerProgressLayout = defineSharedBlock({
  name: 'consumer progress block',
  // 'HPRG'
  magic: 0x48505247,
  version: 1,
  i32: ['frames', 'turns', 'ringIndex'] as const,
})

export type ConsumerProgressBlock = SharedBlockOf<typeof consumerProgressLayout>

/** Default time a consumer with queued frames may go without finishing one (docs/configuration.md). */
export const DEFAULT_STALL_MS = 5000

/** How often a consumer worker stamps an event-loop turn from a timer while idle or working. */
export const TURN_STAMP_MS = 100

/** The worker side: the stamps of one consumer's runtime. */
export class ProgressStamps {
  private readonly i32: Int32Array
  constructor(block: ConsumerProgressBlock) {
    this.i32 = block.i32
  }

  static attach(buffer: unknown): ProgressStamps {
    return new ProgressStamps(SharedBlock.attach(consumerProgressLayout, buffer))
  }

  joined(ringIndex: number): void {
    Atomics.store(this.i32, consumerProgressLayout.i32.ringIndex, ringIndex)
  }

  frame(): void {
    Atomics.add(this.i32, consumerProgressLayout.i32.frames, 1)
  }

  turn(): void {
    Atomics.add(this.i32, consumerProgressLayout.i32.turns, 1)
  }
}

/** Why the watchdog judged a consumer stalled, for the crash record and the logs. */
export interface StallVerdict {
  stalledMs: number
  queued: number
  /** Its event loop did not turn either: a busy loop (or a synchronous handler that never returns). */
  loopBlocked: boolean
}

/**
 * The main-thread side of one consumer's block: remembers when each counter
 * last moved. `queued(ringIndex)` reads the consumer's queue length from the
 * ring (FrameRing.queued).
 */
export class ProgressWatch {
  readonly block: ConsumerProgressBlock
  readonly stallMs: number
  private readonly queued: (ringIndex: number) => number
  private lastFrames = 0
  private lastTurns = 0
  private framesMovedMs = 0
  private turnsMovedMs = 0
  private lastQueued = 0

  constructor(stallMs: number, queued: (ringIndex: number) => number) {
    this.block = SharedBlock.create(consumerProgressLayout)
    this.stallMs = stallMs
    this.queued = queued
    Atomics.store(this.block.i32, consumerProgressLayout.i32.ringIndex, -1)
  }

  get buffer(): SharedArrayBuffer {
    return this.block.buffer
  }

  /** A new life starts: it has not joined the ring yet, and its time starts now. */
  reset(nowMs: number): void {
    const i32 = this.block.i32
    Atomics.store(i32, consumerProgressLayout.i32.ringIndex, -1)
    this.lastFrames = Atomics.load(i32, consumerProgressLayout.i32.frames)
    this.lastTurns = Atomics.load(i32, consumerProgressLayout.i32.turns)
    this.framesMovedMs = nowMs
    this.turnsMovedMs = nowMs
    this.lastQueued = 0
  }

  /** How long frames have waited with none finished, as of the last check (0 when keeping up): health warns before the restart. */
  stalledForMs(nowMs: number): number {
    return this.lastQueued > 0 ? Math.round(nowMs - this.framesMovedMs) : 0
  }

  /** null while the consumer keeps up (or has nothing to do); the verdict once it stalled. */
  check(nowMs: number): StallVerdict | null {
    const i32 = this.block.i32
    const frames = Atomics.load(i32, consumerProgressLayout.i32.frames)
    const turns = Atomics.load(i32, consumerProgressLayout.i32.turns)
    if (turns !== this.lastTurns) {
      this.lastTurns = turns
      this.turnsMovedMs = nowMs
    }
    const index = Atomics.load(i32, consumerProgressLayout.i32.ringIndex)
    const queued = index < 0 ? 0 : this.queued(index)
    this.lastQueued = queued
    // Nothing waiting counts as keeping up: the stall clock starts when frames wait.
    if (frames !== this.lastFrames || queued <= 0) {
      this.lastFrames = frames
      this.framesMovedMs = nowMs
      return null
    }
    const stalledMs = nowMs - this.framesMovedMs
    if (stalledMs < this.stallMs) return null
    return { stalledMs: Math.round(stalledMs), queued, loopBlocked: nowMs - this.turnsMovedMs >= this.stallMs }
  }
}

/** The crash reason text of a stall (starts with the reason code, as every crash reason of a kind does). */
export function stallText(v: StallVerdict): string {
  const why = v.loopBlocked
    ? 'its event loop is blocked too (a busy loop or a handler that never returns)'
    : 'its event loop still runs (a handler whose promise never settles?)'
  return `stalled: no frame finished for ${v.stalledMs} ms with ${v.queued} frame(s) queued; ${why}`
}
