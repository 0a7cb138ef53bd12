import t from 'tap'
import { FrameFlags } from '@heart/ring'
import { DetectionClient } from '../src/detection-client.js'
import { VisionError } from '../src/errors.js'
import type { DetectionProtocol, PreparedRequest } from '../src/protocol.js'
import type { Detection } from '../src/types.js'
import { drawFrame } from './frames.js'

/** A protocol whose answers the test releases by hand. */
class FakeProtocol implements DetectionProtocol {
  readonly name = 'fake'
  prepared = 0
  recycled = 0
  failPrepare = false
  readonly waiting: { resolve: (d: Detection[]) => void; reject: (e: unknown) => void; signal?: AbortSignal }[] = []
  prepare(): PreparedRequest {
    if (this.failPrepare) throw new Error('bad frame')
    this.prepared++
    return { n: this.prepared }
  }
  send(_req: PreparedRequest, _deadlineMs: number, signal?: AbortSignal): Promise<Detection[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, signal })
      signal?.addEventListener('abort', () => reject(new VisionError('DETECTION_ABORTED', 'aborted')))
    })
  }
  recycle(): void {
    this.recycled++
  }
}

const tick = () => new Promise((r) => setImmediate(r))

t.test('bounded in flight: busy means skip and count, never queue', async (t) => {
  const p = new FakeProtocol()
  const results: bigint[] = []
  const c = new DetectionClient({ protocol: p, fps: 0, maxInFlight: 2, onResult: (r) => results.push(r.seq) })
  const f = (seq: bigint) => drawFrame(32, 32, 'gray', null, seq)
  t.same([await c.submit(f(1n)), await c.submit(f(2n)), await c.submit(f(3n)), await c.submit(f(4n))], ['sent', 'sent', 'detection_client_slow', 'detection_client_slow'])
  t.equal(p.waiting.length, 2, 'only two requests ever reached the service')
  p.waiting[1]!.resolve([{ label: 'a', confidence: 1, box: { x: 0, y: 0, w: 1, h: 1 } }])
  await tick()
  t.same(results, [2n])
  t.equal(await c.submit(f(5n)), 'sent', 'a free slot takes the next frame')
  const s = c.stats()
  t.equal(s.sent, 3)
  t.equal(s.succeeded, 1)
  t.equal(s.inFlight, 2)
  t.equal(s.skipped.detection_client_slow, 2)
  t.equal(p.recycled, 1, 'the finished request gave its buffers back')
  await c.close()
  t.equal(c.stats().inFlight, 0)
  t.equal(c.stats().failed.DETECTION_ABORTED, 2, 'close aborts what is in flight')
  t.equal(await c.submit(f(6n)), 'detection_client_slow', 'a closed client takes nothing')
})

t.test('AI-locked frames are skipped unless configured otherwise', async (t) => {
  const p = new FakeProtocol()
  const c = new DetectionClient({ protocol: p, fps: 0, maxInFlight: 8 })
  t.equal(await c.submit(drawFrame(8, 8, 'gray', null, 1n, { flags: FrameFlags.AI_LOCKED | FrameFlags.KEYFRAME })), 'ai_locked')
  t.equal(await c.submit(drawFrame(8, 8, 'gray', null, 2n, { flags: FrameFlags.KEYFRAME })), 'sent')
  t.equal(c.stats().skipped.ai_locked, 1)
  const all = new DetectionClient({ protocol: p, fps: 0, skipAiLocked: false })
  t.equal(await all.submit(drawFrame(8, 8, 'gray', null, 3n, { flags: FrameFlags.AI_LOCKED })), 'sent')
  await c.close()
  await all.close()
})

t.test('the rate cap follows capture time: 5 fps out of 30 fps, no burst after a gap', async (t) => {
  const p = new FakeProtocol()
  const c = new DetectionClient({ protocol: p, fps: 5, maxInFlight: 64 })
  let sent = 0
  // Two seconds of 30 fps capture timestamps.
  for (let i = 0; i < 60; i++) {
    if ((await c.submit(drawFrame(8, 8, 'gray', null, BigInt(i), { captureTsNs: BigInt(i) * 33_333_333n }))) === 'sent') sent++
  }
  t.equal(sent, 10, 'exactly 5 per second over two seconds')
  t.equal(c.stats().skipped.rate_limited, 50)
  // After a 10 s gap: one frame goes, and the next 30 fps frame is limited again.
  const base = 12_000_000_000n
  t.equal(await c.submit(drawFrame(8, 8, 'gray', null, 100n, { captureTsNs: base })), 'sent')
  t.equal(await c.submit(drawFrame(8, 8, 'gray', null, 101n, { captureTsNs: base + 33_333_333n })), 'rate_limited')
  await c.close()
})

t.test('a frame the protocol cannot prepare is an error, and frees its slot', async (t) => {
  const p = new FakeProtocol()
  p.failPrepare = true
  const errors: string[] = []
  const c = new DetectionClient({ protocol: p, fps: 0, onError: (e) => errors.push(e.code) })
  t.equal(await c.submit(drawFrame(8, 8, 'gray', null)), 'sent')
  t.same(errors, ['DETECTION_INTERNAL'])
  t.equal(c.stats().inFlight, 0)
  await c.close()
})

t.test('options are checked', async (t) => {
  const protocol = new FakeProtocol()
  t.throws(() => new DetectionClient({ protocol, deadlineMs: 0 }), /deadlineMs/)
  t.throws(() => new DetectionClient({ protocol, maxInFlight: 0 }), /maxInFlight/)
  t.throws(() => new DetectionClient({ protocol, fps: -1 }), /fps/)
})
