// Polling helpers for tests that wait on worker threads: one home, so every
// package's tests wait the same way.
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls cond every 10 ms; throws once ms have passed without it. */
export async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(10)
  }
}
