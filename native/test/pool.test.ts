// The crate's blocking work runs on threads it owns, not on the libuv pool:
// six cameras, each blocked in readInto() until its next frame is due, leave
// the pool's four threads to fs, and every camera still gets its frames.
import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { probe, Source } from '@heart/native'
import { makeClip, rtspSpec, tempDir, testSpec } from './media.js'
import { startRtspServer } from './rtsp.js'

const cache = mkdtempSync(join(tmpdir(), 'heart-cache-'))
process.env.HEART_CACHE_DIR = cache
t.teardown(() => rmSync(cache, { recursive: true, force: true }))

const SOURCES = 6
// A slow camera: each read waits up to 200 ms for its frame, which is what
// held a pool thread per camera when reads ran there.
const FPS = 5
const RUN_MS = 5000

/** The names of this process's threads, from /proc (Linux). */
function threadNames(): string[] {
  return readdirSync('/proc/self/task').map((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()
    } catch {
      return '' // the thread ended while we looked
    }
  })
}

const sourceThreads = (): number => threadNames().filter((name) => /^heart-src-\d+$/.test(name)).length

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!
}

interface FsLatencies {
  /** Each call's latency, sorted. */
  sortedMs: number[]
  seconds: number
  /** readFile calls that returned other bytes than the file's. */
  wrongReads: number
}

/** The file the fs loop reads, written before any source opens (a write queues on the pool too). */
async function smallFile(dir: string): Promise<string> {
  const file = join(dir, 'small.bin')
  await writeFile(file, Buffer.alloc(4096, 7))
  return file
}

/** The main thread's fs work: readFile + stat of `file` (4 KiB) in a loop for `ms`, each call timed. */
async function timeFsCalls(file: string, ms: number): Promise<FsLatencies> {
  const latenciesMs: number[] = []
  let wrongReads = 0
  const startedAt = performance.now()
  while (performance.now() - startedAt < ms) {
    let at = performance.now()
    const bytes = await readFile(file)
    latenciesMs.push(performance.now() - at)
    at = performance.now()
    await stat(file)
    latenciesMs.push(performance.now() - at)
    if (bytes.length !== 4096) wrongReads++
  }
  return { sortedMs: latenciesMs.sort((a, b) => a - b), seconds: (performance.now() - startedAt) / 1000, wrongReads }
}

function describe(fs: FsLatencies): string {
  const { sortedMs } = fs
  return (
    `fs: ${sortedMs.length} calls in ${fs.seconds.toFixed(1)} s, p50 ${percentile(sortedMs, 50).toFixed(2)} ms, ` +
    `p99 ${percentile(sortedMs, 99).toFixed(2)} ms, max ${sortedMs.at(-1)!.toFixed(1)} ms`
  )
}

t.test('six sources blocked in readInto() leave the libuv pool to fs', async (t) => {
  t.ok(Number(process.env.UV_THREADPOOL_SIZE ?? 4) <= 4, 'the default libuv pool of 4 threads, fewer than the sources')
  const file = await smallFile(tempDir(t))
  const spec = testSpec({ width: 320, height: 240, fps: FPS })
  await probe(spec) // draws the clip once, before six opens race for it

  const sources = await Promise.all(Array.from({ length: SOURCES }, () => Source.open(spec, { output: { pixFmt: 'gray' } })))
  t.teardown(() => sources.forEach((s) => s.close()))
  t.equal(sourceThreads(), SOURCES, 'one heart-src-N thread per open source')

  const frames = new Array<number>(SOURCES).fill(0)
  let stopping = false
  const readers = sources.map(async (source, i) => {
    const dst = new Uint8Array(new SharedArrayBuffer(source.info.byteLength))
    while (!stopping) {
      await source.readInto(dst)
      frames[i]!++
    }
  })
  // Let every source settle into waiting for its next frame.
  await new Promise((r) => setTimeout(r, 500))
  const before = [...frames]
  const fs = await timeFsCalls(file, RUN_MS)
  stopping = true
  await Promise.all(readers)

  t.equal(fs.wrongReads, 0, 'every readFile returned the file')
  const p99 = percentile(fs.sortedMs, 99)
  const rates = frames.map((n, i) => (n - before[i]!) / fs.seconds)
  t.comment(`${describe(fs)}; frames/s per source: ${rates.map((r) => r.toFixed(1)).join(' ')}`)
  t.ok(p99 < 50, `fs p99 ${p99.toFixed(2)} ms stays under 50 ms while ${SOURCES} sources read`)
  for (const [i, rate] of rates.entries()) t.ok(rate >= FPS * 0.8, `source ${i + 1} delivers ${rate.toFixed(1)} frames/s of ${FPS}`)

  for (const s of sources) s.close()
  const closedAt = performance.now()
  while (sourceThreads() > 0 && performance.now() - closedAt < 3000) await new Promise((r) => setTimeout(r, 20))
  t.equal(sourceThreads(), 0, `close() ends every source's thread (${(performance.now() - closedAt).toFixed(0)} ms)`)
})

t.test('six RTSP cameras whose server froze: their reads hang until TIMEOUT, fs does not', async (t) => {
  const dir = tempDir(t)
  const clip = makeClip(dir, 'cam.mp4', { size: '320x240', fps: 30, frames: 600, extra: ['-g', '30', '-bf', '0'] })
  const server = await startRtspServer(t, clip)
  const file = await smallFile(dir)
  const TIMEOUT_MS = 4000
  const sources = await Promise.all(Array.from({ length: SOURCES }, () => Source.open(rtspSpec(server.url), { timeoutMs: TIMEOUT_MS })))
  t.teardown(() => sources.forEach((s) => s.close()))
  const frames = new Array<number>(SOURCES).fill(0)
  const endings = sources.map(async (source, i) => {
    const dst = new Uint8Array(new SharedArrayBuffer(source.info.byteLength))
    for (;;) {
      const outcome = await source.readInto(dst).then(
        () => null,
        (e: { code: string }) => e.code,
      )
      if (outcome !== null) return outcome
      frames[i]!++
    }
  })
  await new Promise((r) => setTimeout(r, 500))
  // The TCP connections stay up but nothing more comes: every read blocks
  // (in FFmpeg's network wait) until its timeoutMs.
  process.kill(server.child.pid!, 'SIGSTOP')
  const frozenAt = performance.now()
  await new Promise((r) => setTimeout(r, 300)) // what was already buffered drains
  const fs = await timeFsCalls(file, 2000)
  const fsEndedAfterMs = performance.now() - frozenAt
  const codes = await Promise.all(endings)
  process.kill(server.child.pid!, 'SIGCONT')

  t.comment(`${describe(fs)} while ${SOURCES} reads hung; frames before the freeze: ${frames.join(' ')}; reads ended with ${codes.join(' ')}`)
  t.ok(fsEndedAfterMs < TIMEOUT_MS, `the fs loop ran inside the freeze (ended ${fsEndedAfterMs.toFixed(0)} ms after it)`)
  t.ok(frames.every((n) => n > 0), 'every camera delivered frames before the freeze')
  t.same(codes, new Array(SOURCES).fill('TIMEOUT'), 'every hung read ends in TIMEOUT, as on the pool')
  t.equal(fs.wrongReads, 0, 'every readFile returned the file')
  const p99 = percentile(fs.sortedMs, 99)
  t.ok(p99 < 50, `fs p99 ${p99.toFixed(2)} ms stays under 50 ms while ${SOURCES} reads hang`)
})

t.test('a probe runs on a thread of its own that ends with it', async (t) => {
  // A size not drawn yet: the probe draws the clip first. 1080p takes ~0.7 s to
  // draw here (176x144 took 40 ms, short enough for a loaded CI box to miss).
  let settled = false
  const probing = probe(testSpec({ width: 1920, height: 1080, fps: 10 })).finally(() => (settled = true))
  let seen = false
  while (!settled) {
    seen ||= threadNames().includes('heart-probe')
    await new Promise((r) => setImmediate(r))
  }
  t.equal((await probing).width, 1920)
  t.ok(seen, 'the probe ran on a heart-probe thread')
  const startedAt = performance.now()
  while (threadNames().includes('heart-probe') && performance.now() - startedAt < 2000) await new Promise((r) => setTimeout(r, 20))
  t.notOk(threadNames().includes('heart-probe'), 'no heart-probe thread is left behind')
})
