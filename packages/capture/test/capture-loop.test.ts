// The capture loop against a scripted fake decoder and a real ring: what it
// publishes, how it counts, when it reconnects, and how fast it stops.
import t from 'tap'
import { FrameFlags, FrameRing, frameLayout } from '@heart/ring'
import { runCapture, type CaptureLog, type FrameProducer } from '../src/capture-loop.js'
import { resolveCaptureConfig } from '../src/config.js'
import { CaptureHealthReader, CaptureHealthWriter, createHealthBuffer } from '../src/health-block.js'
import { parseSource } from '../src/sources/registry.js'
import type { DecodedFrame, OpenedSource, OpenRequest, SourceInfo } from '../src/decoder.js'

type Step = 'frame' | 'frame-wide' | 'decode-error' | 'frame-with-errors' | 'end' | 'hang' | { fail: string }
interface OpenScript { fail?: string; info?: Partial<SourceInfo>; steps?: Step[]; hangOpen?: boolean }

const W = 64
const H = 36
const layout = frameLayout(W, H, 'yuv420p')
const wideLayout = frameLayout(W * 2, H, 'yuv420p')

function silentLog(): CaptureLog & { lines: { level: string; msg: string; fields?: object }[] } {
  const lines: { level: string; msg: string; fields?: object }[] = []
  const at = (level: string) => (msg: string, fields?: object): void => { lines.push({ level, msg, ...(fields ? { fields } : {}) }) }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const abort = (): void => reject(Object.assign(new Error('aborted'), { code: 'ABORTED' }))
    if (signal.aborted) abort()
    else signal.addEventListener('abort', abort, { once: true })
  })
}

/** A fake camera: each open() consumes the next script; frames carry a running counter in their first byte. */
function fakeOpener(scripts: OpenScript[]): { open: (r: OpenRequest, s: AbortSignal) => Promise<OpenedSource>; requests: OpenRequest[]; closed: number } {
  let counter = 0
  const state = { requests: [] as OpenRequest[], closed: 0 }
  const open = async (req: OpenRequest, signal: AbortSignal): Promise<OpenedSource> => {
    state.requests.push(req)
    const script = scripts.shift() ?? { steps: ['hang'] }
    if (script.hangOpen) return hang(signal)
    if (script.fail) throw Object.assign(new Error(`${script.fail} for rtsp://user:hunter2@cam/s1`), { code: script.fail })
    const steps = [...(script.steps ?? [])]
    const info: SourceInfo = { codec: 'h264', width: W, height: H, fps: 30, pixFmt: 'yuv420p', backend: 'fake', ...script.info }
    return {
      info,
      async read(dst: Uint8Array, sig: AbortSignal): Promise<DecodedFrame | null> {
        const step = steps.shift() ?? 'hang'
        if (step === 'hang') return hang(sig)
        if (step === 'end') return null
        if (step === 'decode-error') throw Object.assign(new Error('bad slice'), { code: 'DECODE_ERROR' })
        if (typeof step === 'object') throw Object.assign(new Error(`${step.fail} mid-stream`), { code: step.fail })
        await new Promise((r) => setTimeout(r, 2))
        dst[0] = ++counter & 0xff
        const ts = process.hrtime.bigint()
        return {
          captureTsNs: ts - 3_000_000n, decodeTsNs: ts, width: step === 'frame-wide' ? W * 2 : info.width, height: info.height, pixFmt: 'yuv420p',
          planes: step === 'frame-wide' ? wideLayout.planes : layout.planes, keyframe: counter % 10 === 1, corrupt: false, decodeMs: 1.5,
          decodeErrors: step === 'frame-with-errors' ? 2 : 0,
        }
      },
      close() { state.closed++ },
    }
  }
  return Object.assign(state, { open })
}

function setup(scripts: OpenScript[], overrides: Record<string, unknown> = {}, wrapProducer: (p: FrameProducer) => FrameProducer = (p) => p) {
  const spec = parseSource('rtsp://user:hunter2@cam.local/s1')
  const config = resolveCaptureConfig({
    source: spec.url, stallTimeoutMs: 150, openTimeoutMs: 300,
    reconnect: { initialMs: 20, maxMs: 80, jitter: 0, probeIntervalMs: 0 }, expect: { maxSize: '640x360' }, ...overrides,
  })
  const ring = FrameRing.create({ slotBytes: frameLayout(640, 360, 'yuv420p').byteLength, maxConsumers: 2, maxDepth: 64 })
  const consumer = ring.consumer('test', { depth: 64 })
  const healthBuffer = createHealthBuffer()
  const health = new CaptureHealthWriter(healthBuffer)
  const reader = new CaptureHealthReader(healthBuffer)
  const fake = fakeOpener(scripts)
  const log = silentLog()
  const ac = new AbortController()
  const events: { type: string; payload: unknown }[] = []
  const done = runCapture({
    spec, config, open: fake.open, producer: wrapProducer(ring.producer()), slotBytes: frameLayout(640, 360, 'yuv420p').byteLength,
    health, signal: ac.signal, log, emit: (type, payload) => events.push({ type, payload }),
  })
  const snapshot = () => reader.snapshot({ redAfterMs: 3000, yellowForMs: 10_000 })
  const until = async (what: string, cond: () => boolean, ms = 3000): Promise<void> => {
    const end = Date.now() + ms
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; health ${JSON.stringify(snapshot())}`)
      await new Promise((r) => setTimeout(r, 5))
    }
  }
  const drain = () => {
    const out = []
    for (let lease = consumer.tryAcquire(); lease; lease = consumer.tryAcquire()) {
      out.push({ seq: lease.seq, epoch: lease.epoch, flags: lease.flags, first: lease.bytes[0]!, capture: lease.captureTsNs, publish: lease.publishTsNs })
      consumer.release(lease)
    }
    return out
  }
  return { ac, done, fake, log, events, reader, snapshot, until, drain, stop: async () => { ac.abort(); await done } }
}

t.test('frames are published in order with ring metadata and health figures', async (t) => {
  const s = setup([{ steps: Array(20).fill('frame') }])
  t.teardown(s.stop)
  await s.until('20 frames', () => s.snapshot().frames_total === 20)
  const frames = s.drain()
  t.equal(frames.length, 20)
  t.same(frames.map((f) => f.seq), Array.from({ length: 20 }, (_, i) => BigInt(i)), 'seq 0..19')
  t.same(frames.map((f) => f.first), Array.from({ length: 20 }, (_, i) => i + 1), 'pixels written by the decoder arrive')
  t.ok(frames.every((f, i) => i === 0 || f.capture > frames[i - 1]!.capture), 'capture stamps increase')
  t.ok(frames.every((f) => f.publish > f.capture), 'published after receipt')
  t.equal(frames[0]!.flags & FrameFlags.KEYFRAME, FrameFlags.KEYFRAME)
  t.equal(frames[1]!.flags & FrameFlags.KEYFRAME, 0)
  t.ok(frames.every((f) => f.epoch === 0))
  const h = s.snapshot()
  t.match(h, { state: 'streaming', backend: 'fake', codec: 'h264', width: W, height: H, reopens_total: 0, decode_errors_total: 0, decode_ms_p50: 1.5 })
  t.ok(h.decode_ms_first_frame! >= 0, 'first-frame latency measured')
  t.ok(h.receive_to_publish_ms_p50! >= 3, 'receive-to-publish includes the 3 ms before decode')
  t.notMatch(JSON.stringify(h), /hunter2|user:/, 'no credentials in health')
  t.equal(s.fake.requests[0]!.pixFmt, 'yuv420p')
  t.same(s.fake.requests[0]!.expect.maxSize, { width: 640, height: 360 })
})

t.test('AI-lock flags frames while set', async (t) => {
  const s = setup([{ steps: Array(300).fill('frame') }])
  t.teardown(s.stop)
  await s.until('a frame', () => s.snapshot().frames_total >= 2)
  s.drain()
  s.reader.setAiLock(true)
  await s.until('locked frames', () => s.snapshot().frames_total >= 8)
  const locked = s.drain()
  s.reader.setAiLock(false)
  const n = s.snapshot().frames_total
  await s.until('more frames', () => s.snapshot().frames_total >= n + 4)
  const unlocked = s.drain().slice(1) // the frame in flight at the switch may carry either flag
  t.ok(locked.length >= 4 && locked.slice(1).every((f) => (f.flags & FrameFlags.AI_LOCKED) !== 0), 'locked frames flagged')
  t.ok(unlocked.length >= 2 && unlocked.every((f) => (f.flags & FrameFlags.AI_LOCKED) === 0), 'cleared after up')
})

t.test('decode errors drop the frame, are counted, and keep the stream', async (t) => {
  const s = setup([{ steps: ['frame', 'decode-error', 'frame', 'decode-error', 'decode-error', 'frame-with-errors', 'frame'] }])
  t.teardown(s.stop)
  await s.until('4 frames', () => s.snapshot().frames_total === 4)
  const h = s.snapshot()
  t.equal(h.decode_errors_total, 5, '3 thrown + 2 reported with a frame')
  t.equal(h.reopens_total, 0, 'no reopen for a bad frame')
  t.equal(s.fake.requests.length, 1)
  t.equal(h.status, 'yellow', 'recent decode errors show as yellow')
  t.equal(s.drain().length, 4)
})

t.test('a first connection that fails is retried; the reopen is counted and the epoch bumped', async (t) => {
  const s = setup([{ fail: 'CONNECT_REFUSED' }, { fail: 'CONNECT_REFUSED' }, { steps: ['frame', 'frame'] }])
  t.teardown(s.stop)
  await s.until('2 frames', () => s.snapshot().frames_total === 2)
  const h = s.snapshot()
  t.match(h, { reopens_total: 2, failures_total: 2, last_error_code: 'CONNECT_REFUSED' })
  t.notMatch(h.last_error!, /hunter2/, 'error text is redacted')
  t.ok(s.drain().every((f) => f.epoch === 1))
  const warnings = s.log.lines.filter((l) => l.level === 'warn')
  t.equal(warnings.length, 1, 'a repeated failure is logged once at warn')
  t.notMatch(JSON.stringify(s.log.lines), /hunter2/, 'no credentials in logs')
})

t.test('a stall reopens the source; stream end reopens it too', async (t) => {
  const s = setup([{ steps: ['frame', 'hang'] }, { steps: ['frame', 'end'] }, { steps: ['frame'] }])
  t.teardown(s.stop)
  await s.until('3 frames', () => s.snapshot().frames_total === 3)
  const h = s.snapshot()
  t.equal(h.reopens_total, 2)
  t.equal(s.fake.closed, 2, 'old sources closed')
  t.same(s.drain().map((f) => f.epoch), [0, 1, 2])
  t.ok(s.events.some((e) => (e.payload as { code?: string }).code === 'STALLED'))
  t.ok(s.events.some((e) => (e.payload as { code?: string }).code === 'STREAM_ENDED'))
})

t.test('a camera beyond the expectation fails at open naming both sides', async (t) => {
  const s = setup([{ info: { width: 1280, height: 720 }, steps: ['frame'] }, { info: { codec: 'hevc' }, steps: ['frame'] }], { expect: { maxSize: '640x360', codec: 'h264' } })
  t.teardown(s.stop)
  await s.until('two failures', () => s.snapshot().failures_total >= 2)
  const errors = s.events.map((e) => e.payload as { code?: string }).filter((p) => p.code)
  t.equal(errors[0]!.code, 'FORMAT_MISMATCH')
  const msgs = s.log.lines.filter((l) => l.level !== 'debug').map((l) => JSON.stringify(l.fields))
  t.ok(msgs.some((m) => /1280x720.*640x360/.test(m)), 'size mismatch names both sizes')
  t.ok(msgs.some((m) => /sends hevc.*codec is h264/.test(m)), 'codec mismatch names both codecs')
  t.equal(s.snapshot().frames_total, 0, 'nothing decoded on another path')
})

t.test('stop returns promptly while the source hangs in open or read', async (t) => {
  for (const script of [{ hangOpen: true }, { steps: ['frame' as const, 'hang' as const] }]) {
    const s = setup([script], { openTimeoutMs: 60_000, stallTimeoutMs: 60_000 })
    await new Promise((r) => setTimeout(r, 50))
    const started = Date.now()
    await s.stop()
    t.ok(Date.now() - started < 1000, `stopped in ${Date.now() - started} ms`)
    t.equal(s.snapshot().state, 'stopped')
  }
})

t.test('a mid-stream size change bumps the epoch without a reopen', async (t) => {
  const s = setup([{ steps: ['frame', 'frame', 'frame-wide', 'frame-wide'] }])
  t.teardown(s.stop)
  await s.until('4 frames', () => s.snapshot().frames_total === 4)
  const frames = s.drain()
  t.same(frames.map((f) => f.epoch), [0, 0, 1, 1])
  t.equal(s.snapshot().reopens_total, 0)
  t.ok(s.log.lines.some((l) => l.msg === 'stream renegotiated'))
})

t.test('with no free slot the frame is still read (into scratch memory) and counted', async (t) => {
  let calls = 0
  const s = setup([{ steps: Array(6).fill('frame') }], {}, (p) => ({
    beginWrite: () => (++calls === 2 || calls === 3 ? null : p.beginWrite()),
    commit: (slot, meta) => p.commit(slot, meta),
    abort: (slot) => p.abort(slot),
    bumpEpoch: () => p.bumpEpoch(),
  }))
  t.teardown(s.stop)
  await s.until('6 frames read', () => s.snapshot().frames_total === 4 && s.snapshot().slots_full_total === 2)
  t.same(s.drain().map((f) => f.first), [1, 4, 5, 6], 'frames 2 and 3 were read and dropped, the rest published')
})

t.test('a camera whose frames would not fit the ring slots is refused at open', async (t) => {
  const s = setup([{ info: { frameBytes: 10 * 1024 * 1024 }, steps: ['frame'] }])
  t.teardown(s.stop)
  await s.until('the failure', () => s.snapshot().failures_total >= 1)
  t.equal(s.snapshot().last_error_code, 'SLOT_TOO_SMALL')
  t.match(s.snapshot().last_error, /raise capture.expect.maxSize/)
})
