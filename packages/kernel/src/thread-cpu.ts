// Per-thread CPU for /health (workers.NAME.cpu_percent, loop.cpu_percent)
// and /metrics (heart.thread.cpu). Every worker says which OS thread it is
// when it starts (the `ready` message); the main thread is the process's
// first thread. Once a second, from a tick-loop timer rather than every tick,
// the meter reads each thread's CPU time from /proc/self/task/TID/stat (one
// small file a thread) and keeps the last few readings, so the figure is the
// share of one core the thread used over a sliding window (5 s by default):
// steady enough to read, recent enough to show a consumer that just got busy.
import { procThreadCpuMs, type ThreadCpuReader } from './watchdog.js'

/** The window a cpu_percent is averaged over unless the meter is told otherwise. */
export const THREAD_CPU_WINDOW_MS = 5000

/** How often the kernel samples the threads' CPU times. */
export const THREAD_CPU_SAMPLE_MS = 1000

/** The name heart gives the main thread's figures (metric attribute `thread`). */
export const MAIN_THREAD = 'main'

interface Reading {
  atMs: number
  cpuMs: number
}

interface ThreadBooks {
  tid: number
  /** Oldest first; at most window / sample period + 1 readings. */
  readings: Reading[]
}

/** A thread the meter should look at now: its heart name and OS thread id. */
export interface MeteredThread {
  name: string
  tid: number
}

export class ThreadCpuMeter {
  private readonly books = new Map<string, ThreadBooks>()
  private readonly windowMs: number
  private readonly cpuMs: ThreadCpuReader

  constructor(options: { windowMs?: number; cpuMs?: ThreadCpuReader } = {}) {
    this.windowMs = options.windowMs ?? THREAD_CPU_WINDOW_MS
    this.cpuMs = options.cpuMs ?? procThreadCpuMs
  }

  /**
   * One reading of every thread named. A thread whose id changed (its worker
   * restarted) starts its window afresh; one no longer named is forgotten.
   */
  sample(threads: readonly MeteredThread[], nowMs: number = performance.now()): void {
    const seen = new Set<string>()
    for (const { name, tid } of threads) {
      seen.add(name)
      const cpuMs = this.cpuMs(tid)
      let books = this.books.get(name)
      if (books === undefined || books.tid !== tid) {
        books = { tid, readings: [] }
        this.books.set(name, books)
      }
      if (cpuMs === null) continue
      books.readings.push({ atMs: nowMs, cpuMs })
      // Keep the newest reading that is at least a window old as the base, and everything after it.
      while (books.readings.length > 2 && nowMs - books.readings[1]!.atMs >= this.windowMs) books.readings.shift()
    }
    for (const name of this.books.keys()) if (!seen.has(name)) this.books.delete(name)
  }

  /** Per cent of one core the thread used over the window, one decimal; null until it has two readings. */
  percent(name: string): number | null {
    const readings = this.books.get(name)?.readings
    if (!readings || readings.length < 2) return null
    const first = readings[0]!
    const last = readings[readings.length - 1]!
    const spanMs = last.atMs - first.atMs
    if (spanMs <= 0) return null
    return Math.round(((last.cpuMs - first.cpuMs) / spanMs) * 1000) / 10
  }

  /** Every thread's figure, by name (threads without one yet are left out). */
  percents(): Map<string, number> {
    const out = new Map<string, number>()
    for (const name of this.books.keys()) {
      const p = this.percent(name)
      if (p !== null) out.set(name, p)
    }
    return out
  }
}
