// Opening a page in Debian's chromium for the live-view tests (this package's
// and the top-level integration test), so both launch it the same way:
// playwright-core with executablePath /usr/bin/chromium (never `playwright
// install`), the flags this machine's closed network needs, a throwaway
// profile, and a teardown that ends exactly the browser processes we started.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

/** Flags for headless chromium on a machine that reaches no network but localhost. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface LivePage {
  page: Page
  /** Requests the page made to anything but `origin` (the live view must need none). */
  foreign: string[]
  /** Uncaught errors in the page. */
  pageErrors: string[]
}

/** Our own child processes (the browser), so teardown can end exactly them by PID. */
function childPids(): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === process.pid) pids.push(Number(entry))
    } catch {
      // the process ended while we looked
    }
  }
  return pids
}

/**
 * Launches chromium with a fresh profile and returns its page, watching for
 * requests that leave `origin` and for page errors. `teardown` (tap's
 * t.teardown) closes the browser, kills any of its processes still alive (ours
 * only, by PID) and removes the profile, even when the test fails.
 */
export async function openChromiumPage(origin: string, teardown: (fn: () => unknown) => void, viewport = { width: 1280, height: 900 }): Promise<LivePage> {
  await browserTurn(teardown)
  const profile = mkdtempSync(join(tmpdir(), 'heart-chromium-'))
  teardown(() => rmSync(profile, { recursive: true, force: true }))
  const before = new Set(childPids())
  // Registered before the launch, so a launch that fails half-way still ends its processes.
  const opened: { context?: BrowserContext } = {}
  teardown(async () => {
    await Promise.race([opened.context?.close(), new Promise((r) => setTimeout(r, 5000))])
    for (const pid of childPids()) {
      if (before.has(pid)) continue
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
  // launchPersistentContext is playwright's way of giving chromium a --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, viewport, args: CHROMIUM_ARGS })
  opened.context = context
  const page = context.pages()[0] ?? (await context.newPage())
  const foreign: string[] = []
  const pageErrors: string[] = []
  page.on('request', (req) => {
    if (!req.url().startsWith(origin)) foreign.push(req.url())
  })
  page.on('pageerror', (err) => pageErrors.push(String(err)))
  return { page, foreign, pageErrors }
}

const BROWSER_LOCK = join(tmpdir(), 'heart-chromium.lock')

/**
 * One browser at a time across test files (tap runs files in parallel): two
 * Chromiums decoding video on a 2-core machine starve each other and the
 * heart runs they watch, and the tests then measure the machine, not heart.
 * A lock folder whose owner has died is taken over.
 */
async function browserTurn(teardown: (fn: () => unknown) => void, waitMs = 240_000): Promise<void> {
  const end = Date.now() + waitMs
  for (;;) {
    try {
      mkdirSync(BROWSER_LOCK)
      writeFileSync(join(BROWSER_LOCK, 'pid'), String(process.pid))
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = Number(readFileSafe(join(BROWSER_LOCK, 'pid')))
    if (owner > 0 && !alive(owner)) {
      rmSync(BROWSER_LOCK, { recursive: true, force: true })
      continue
    }
    if (Date.now() > end) throw new Error(`another test (pid ${owner}) has held the browser for ${waitMs / 1000} s (${BROWSER_LOCK})`)
    await new Promise((r) => setTimeout(r, 200))
  }
  teardown(() => rmSync(BROWSER_LOCK, { recursive: true, force: true }))
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A fingerprint of the picture the live view's <img id="video"> shows now,
 * drawn at 64x36: unlike a screenshot it ignores the moving overlay, so it
 * changes only when the video does.
 */
export function pictureFingerprint(page: Page): Promise<string> {
  return page.evaluate(() => {
    const img = document.getElementById('video') as HTMLImageElement
    const c = document.createElement('canvas')
    c.width = 64
    c.height = 36
    const ctx = c.getContext('2d')!
    ctx.drawImage(img, 0, 0, 64, 36)
    return Array.from(ctx.getImageData(0, 0, 64, 36).data).join(',')
  })
}
