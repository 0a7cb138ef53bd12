// What the benches that run `heart run` (or the FFmpeg CLI) as a child read
// about it from the outside: CPU time of the whole process and of each of
// its threads, resident memory, and when its HTTP server answers. Linux
// /proc only; every scope that spawns a process measures it through here.
import type { ChildProcess } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/** The `heart` command's script, found by package resolution (the repository's workspace link or an npm install alike). */
export const HEART_BIN = fileURLToPath(import.meta.resolve('@heart/cli/bin'))
/** Linux reports process CPU in clock ticks (USER_HZ, 100 on every mainstream kernel). */
const CLOCK_TICKS_PER_S = 100

/** utime + stime from a /proc stat line, in ms. */
function statCpuMs(stat: string): number {
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S
}

/** utime + stime of a process, all threads, in ms. */
export async function processCpuMs(pid: number): Promise<number> {
  return statCpuMs(await readFile(`/proc/${pid}/stat`, 'utf8'))
}

/** utime + stime of one thread of a process, in ms. */
export async function threadCpuMs(pid: number, tid: number): Promise<number> {
  return statCpuMs(await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8'))
}

export interface ThreadTime {
  tid: number
  /** The thread's name (comm): heart names its workers after their service. */
  name: string
  cpuMs: number
}

/** Every thread of a process with its name and CPU time; a thread that ends while being read is left out. */
export async function threadTimes(pid: number): Promise<ThreadTime[]> {
  const tids = await readdir(`/proc/${pid}/task`)
  const read = await Promise.all(
    tids.map(async (tid) => {
      try {
        const [comm, stat] = await Promise.all([readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8'), readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')])
        return { tid: Number(tid), name: comm.trim(), cpuMs: statCpuMs(stat) }
      } catch {
        return null
      }
    }),
  )
  return read.filter((t): t is ThreadTime => t !== null)
}

/** Resident memory now and at its peak (VmRSS, VmHWM), in MiB. */
export async function residentMb(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/** Resolves once `url` answers 200; fails when the child exits first or after timeoutMs. */
export async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`heart run exited early with code ${child.exitCode}`)
    try {
      const res = await fetch(url)
      if (res.ok) {
        await res.arrayBuffer()
        return
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`heart run did not answer ${url} within ${timeoutMs} ms`)
}

/** Asks a child to stop (SIGTERM), kills it after graceMs, and resolves when it has exited. */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs = 10_000): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  const timer = setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
