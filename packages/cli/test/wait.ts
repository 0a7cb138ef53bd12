// Waiting helpers for the CLI's worker tests.
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls cond every 20 ms; throws once ms have passed without it. */
export async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(20)
  }
}
