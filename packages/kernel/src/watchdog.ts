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
// - `tid`: its OS thread id (Linux), so the main thread can read how much
//   CPU the thread used.
//
// A consumer with frames queued and no frame finished for `stallMs` is
// stalled, unless it was starved rather than stuck: on an overloaded box a
// thread may hardly run for seconds, and restarting it helps nobody. So from
// half of stallMs on, the watch notes the thread's CPU time and turns; at
// stallMs it calls it stalled only if the thread was busy (a busy loop: its
// loop did not turn but it used CPU) or its loop kept turning (a promise that
// never settles). The check is a few Atomics loads and no allocation: it runs
// in the tick loop; the CPU time (a /proc read) is read only on suspicion.
import { readFileSync } from 'node:fs'
import { SharedBlock, defineSharedBlock, type SharedBlockOf } from '@heart/ring'
import { currentThreadTid } from './thread-priority.js'

export const consumerProgressLayout = defineSharedBlock({
  name: 'consumer progress block',
  // 'HPRG'
  magic: 0x48505247,
  version: 2,
  i32: ['frames', 'turns', 'ringIndex', 'tid'] as const,
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

  /** Says which OS thread this is (call from the worker's own thread). */
  thread(tid: number | null = currentThreadTid()): void {
    Atomics.store(this.i32, consumerProgressLayout.i32.tid, tid ?? 0)
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

/** CPU time (user + system) an OS thread of this process has used, in ms; null where it cannot be read. */
export type ThreadCpuReader = (tid: number) => number | null

/** Linux: /proc/self/task/TID/stat, utime and stime in clock ticks (USER_HZ, 100 on every Linux heart runs on). */
export function procThreadCpuMs(tid: number): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1')
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? ticks * 10 : null
  } catch {
    return null
  }
}

/**
 * A thread that used less CPU than this share of a stretch was starved, not
 * busy-looping: a healthy consumer given a tenth of a core for seconds
 * finishes a frame; a busy loop on an overloaded box still shows its share.
 */
const BUSY_CPU_SHARE = 0.1
/** A loop that turned less than this share of its timer's rate was starved, not idling on a pending promise. */
const RUNNING_TURN_SHARE = 0.25

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
  private readonly cpuMs: ThreadCpuReader
  /** At half of stallMs without progress: when, the thread's CPU time and turns then (suspectAtMs < 0: not suspected). */
  private suspectAtMs = -1
  private cpuAtSuspect: number | null = null
  private turnsAtSuspect = 0

  constructor(stallMs: number, queued: (ringIndex: number) => number, cpuMs: ThreadCpuReader = procThreadCpuMs) {
    this.block = SharedBlock.create(consumerProgressLayout)
    this.stallMs = stallMs
    this.queued = queued
    this.cpuMs = cpuMs
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
    this.suspectAtMs = -1
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
      this.suspectAtMs = -1
      return null
    }
    const stalledMs = nowMs - this.framesMovedMs
    if (stalledMs < this.stallMs / 2) return null
    if (this.suspectAtMs < 0) {
      this.suspect(nowMs, turns)
      return null
    }
    // Judged over at least half of stallMs since suspicion, so one busy or idle tick decides nothing.
    if (stalledMs < this.stallMs || nowMs - this.suspectAtMs < this.stallMs / 2) return null
    const loopBlocked = nowMs - this.turnsMovedMs >= this.stallMs
    if (this.starved(nowMs, turns, loopBlocked)) {
      // Look again over the next stretch: it may get the CPU it needs.
      this.suspect(nowMs, turns)
      return null
    }
    return { stalledMs: Math.round(stalledMs), queued, loopBlocked }
  }

  private suspect(nowMs: number, turns: number): void {
    this.suspectAtMs = nowMs
    this.turnsAtSuspect = turns
    const tid = Atomics.load(this.block.i32, consumerProgressLayout.i32.tid)
    this.cpuAtSuspect = tid > 0 ? this.cpuMs(tid) : null
  }

  /** Since suspicion: a blocked loop that used hardly any CPU, or a running loop that hardly turned, was starved. */
  private starved(nowMs: number, turns: number, loopBlocked: boolean): boolean {
    const stretchMs = nowMs - this.suspectAtMs
    if (loopBlocked) {
      const tid = Atomics.load(this.block.i32, consumerProgressLayout.i32.tid)
      const cpuNow = tid > 0 && this.cpuAtSuspect !== null ? this.cpuMs(tid) : null
      // Without a CPU figure (not Linux) a blocked loop is taken at its word.
      return cpuNow !== null && cpuNow - this.cpuAtSuspect! < stretchMs * BUSY_CPU_SHARE
    }
    return turns - this.turnsAtSuspect < (stretchMs / TURN_STAMP_MS) * RUNNING_TURN_SHARE
  }
}

/** The crash reason text of a stall (starts with the reason code, as every crash reason of a kind does). */
export function stallText(v: StallVerdict): string {
  const why = v.loopBlocked
    ? 'its event loop is blocked too (a busy loop or a handler that never returns)'
    : 'its event loop still runs (a handler whose promise never settles?)'
  return `stalled: no frame finished for ${v.stalledMs} ms with ${v.queued} frame(s) queued; ${why}`
}
