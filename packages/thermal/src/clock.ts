// Time sources for the emulator and the poller. The real clock really waits; the virtual
// clock only moves its own counter, so unit tests run many seconds of sensor time in
// milliseconds and get the same answer every time.
import { setImmediate as yieldToLoop } from 'node:timers/promises'

export interface Clock {
  /** Monotonic time in milliseconds (fractional). */
  nowMs(): number
  /** Wait without blocking the thread (other work on the event loop runs). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /**
   * Occupy the calling thread for `ms`, as a blocking ioctl on a real I²C bus does. The
   * emulator spends bus time through this, so the poller sees the same stalls a real bus
   * gives it.
   */
  block(ms: number): void
}

/** CLOCK_MONOTONIC, the same clock as the rest of heart (process.hrtime.bigint()). */
export class RealClock implements Clock {
  // Atomics.wait on a private cell sleeps the thread without spinning the CPU.
  private readonly cell = new Int32Array(new SharedArrayBuffer(4))

  nowMs(): number {
    return Number(process.hrtime.bigint()) / 1e6
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve()
      const onAbort = (): void => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  block(ms: number): void {
    if (ms > 0) Atomics.wait(this.cell, 0, 0, ms)
  }
}

/** A clock that only moves when something sleeps or blocks on it. */
export class VirtualClock implements Clock {
  private t: number

  constructor(startMs = 0) {
    this.t = startMs
  }

  nowMs(): number {
    return this.t
  }

  advance(ms: number): void {
    if (ms > 0) this.t += ms
  }

  async sleep(ms: number, _signal?: AbortSignal): Promise<void> {
    this.advance(ms)
    // Yield a macrotask so timers and I/O (tap's own, a stop request) still get their turn.
    await yieldToLoop()
  }

  block(ms: number): void {
    this.advance(ms)
  }
}
