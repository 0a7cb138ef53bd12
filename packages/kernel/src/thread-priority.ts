import { readlinkSync, writeFileSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

/**
 * The OS thread id of the calling thread (Linux: /proc/thread-self points to
 * /proc/<pid>/task/<tid>), or null where that is not available.
 */
export function currentThreadTid(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    return Number.isInteger(tid) && tid > 0 ? tid : null
  } catch {
    return null
  }
}

/**
 * Sets the nice value of the calling thread only (Linux schedules threads
 * separately). Workers run a little nicer than the main thread so that on a
 * busy machine the tick loop gets a core first; threads a worker starts later
 * (FFmpeg's decode threads, for example) inherit its value. Returns what was
 * applied, or why not: lowering priority needs no privilege; raising it does.
 */
export function setThreadNice(nice: number): { applied: number } | { skipped: string } {
  const tid = currentThreadTid()
  if (tid === null) return { skipped: 'no /proc/thread-self (not Linux)' }
  try {
    setPriority(tid, nice)
    return { applied: getPriority(tid) }
  } catch (error) {
    return { skipped: error instanceof Error ? error.message : String(error) }
  }
}

/** Linux keeps at most 15 bytes of a thread name (TASK_COMM_LEN less the NUL). */
const THREAD_NAME_BYTES = 15

/**
 * Names the calling thread as `top -H`, `ps -L` and /proc/PID/task/TID/comm
 * show it. Node's worker_threads `name` option only labels the worker for
 * the inspector: the OS thread stays "node". A thread may rename itself
 * through /proc/thread-self/comm; threads it starts later (FFmpeg's decode
 * threads) take the name with them. Returns the name applied, or null where
 * that is not possible (not Linux).
 */
export function nameCurrentThread(name: string): string | null {
  const short = Buffer.from(name).subarray(0, THREAD_NAME_BYTES).toString()
  try {
    writeFileSync('/proc/thread-self/comm', short)
    return short
  } catch {
    return null
  }
}
