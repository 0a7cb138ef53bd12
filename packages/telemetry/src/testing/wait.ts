// Polling helpers for tests that wait on worker threads: one home, so every
// package's tests wait the same way and say the same thing when they give up.
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Polls cond every 10 ms; once ms have passed without it, throws an error
 * that names what was awaited and, when `state` is given, how things stood.
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, what = 'the condition', state?: () => unknown, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${state ? ` (${JSON.stringify(state())})` : ''}`)
    await sleep(10)
  }
}
