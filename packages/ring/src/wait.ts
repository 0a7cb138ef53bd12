// One way for every shared block to wait on a word without blocking the
// thread's event loop: Atomics.waitAsync, with a backstop timer. A pending
// waitAsync keeps no thread alive, and its timeout is V8's own delayed task,
// which a loaded machine can run late; had the process nothing else to do it
// could end mid-wait (a test runner saw "test unfinished"). The timer keeps
// the thread alive and ends the wait on time should V8's be late.

/**
 * Resolves when `view[index]` is notified, or no longer holds `value`, or
 * after timeoutMs, whichever comes first.
 */
export async function waitOnWord(view: Int32Array, index: number, value: number, timeoutMs: number): Promise<void> {
  const waited = Atomics.waitAsync(view, index, value, timeoutMs)
  if (!waited.async) return
  let backstop: NodeJS.Timeout | undefined
  try {
    await Promise.race([waited.value, new Promise((resolve) => (backstop = setTimeout(resolve, timeoutMs + 10)))])
  } finally {
    clearTimeout(backstop)
  }
}
