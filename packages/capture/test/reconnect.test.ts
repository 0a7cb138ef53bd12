import t from 'tap'
import { DEFAULT_RECONNECT, ReconnectPolicy } from '../src/reconnect.js'

function fake(random = 0.5): { clock: { t: number }; policy: (cfg?: Partial<typeof DEFAULT_RECONNECT>, canProbe?: boolean) => ReconnectPolicy } {
  const clock = { t: 0 }
  return {
    clock,
    policy: (cfg = {}, canProbe = true) => new ReconnectPolicy(cfg, { now: () => clock.t, random: () => random }, { canProbe }),
  }
}

t.test('the first attempt is immediate, then backoff doubles to the cap', async (t) => {
  const { clock, policy } = fake(0.5) // 0.5 = no jitter
  const p = policy({ probeIntervalMs: 0 })
  t.same(p.next(), { action: 'attempt', reason: 'first' })
  const delays: number[] = []
  for (let i = 0; i < 8; i++) {
    delays.push(p.recordFailure())
    t.same(p.next(), { action: 'wait', ms: delays.at(-1) })
    clock.t += delays.at(-1)!
    t.same(p.next(), { action: 'attempt', reason: 'backoff-elapsed' })
  }
  t.same(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
})

t.test('jitter stays within +/- the configured fraction and never above the cap', async (t) => {
  t.equal(fake(0).policy().recordFailure(), 800)
  t.equal(fake(0.999999).policy().recordFailure(), 1200)
  const high = fake(0.999999).policy()
  for (let i = 0; i < 10; i++) high.recordFailure()
  t.equal(high.recordFailure(), 30000)
})

t.test('a failure when the very first open fails is retried', async (t) => {
  const { clock, policy } = fake()
  const p = policy({ probeIntervalMs: 0 })
  p.next()
  p.recordFailure()
  clock.t += 1000
  t.equal(p.next().action, 'attempt')
})

t.test('probes run between attempts; a camera coming back is attempted at once', async (t) => {
  const { clock, policy } = fake()
  const p = policy({ probeIntervalMs: 500 })
  p.next()
  for (let i = 0; i < 10; i++) p.recordFailure() // long outage: backoff at its 30 s cap
  t.equal(p.lastDelayMs, 30000)
  t.same(p.next(), { action: 'wait', ms: 500 })
  clock.t += 500
  t.same(p.next(), { action: 'probe' })
  t.same(p.next(), { action: 'wait', ms: 29500 }, 'no second probe while one is out')
  p.recordProbe(false)
  t.same(p.next(), { action: 'wait', ms: 500 })
  clock.t += 500
  t.same(p.next(), { action: 'probe' })
  p.recordProbe(true) // camera is back
  t.same(p.next(), { action: 'attempt', reason: 'camera-returned' })
  t.equal(p.failures, 0, 'a returning camera starts a new backoff episode')
  t.equal(p.recordFailure(), 1000, 'so if it is still booting the next try is soon')
})

t.test('a camera that accepts TCP but fails the stream gets the full backoff', async (t) => {
  const { clock, policy } = fake()
  const p = policy({ probeIntervalMs: 500 })
  p.next()
  p.recordFailure()
  p.recordFailure()
  p.recordFailure() // 4 s
  for (let i = 0; i < 7; i++) {
    clock.t += 500
    const d = p.next()
    t.same(d, { action: 'probe' }, `probe ${i}`)
    p.recordProbe(true)
  }
  clock.t += 500
  t.same(p.next(), { action: 'attempt', reason: 'backoff-elapsed' })
})

t.test('a refused connect counts as unreachable: the first probe through is the camera returning', async (t) => {
  const { clock, policy } = fake()
  const p = policy({ probeIntervalMs: 500 })
  p.next()
  for (let i = 0; i < 5; i++) p.recordFailure(false) // refused, over and over: backoff 16 s
  clock.t += 500
  t.same(p.next(), { action: 'probe' })
  p.recordProbe(true) // the server came up right after the last refused attempt
  t.same(p.next(), { action: 'attempt', reason: 'camera-returned' })
  p.recordFailure(true) // it answered 404: reachable, so probes that succeed do not trigger attempts
  clock.t += 500
  t.same(p.next(), { action: 'probe' })
  p.recordProbe(true)
  t.same(p.next(), { action: 'wait', ms: 500 })
})

t.test('sources without a probe only back off', async (t) => {
  const { clock, policy } = fake()
  const p = policy({ probeIntervalMs: 500 }, false)
  p.next()
  p.recordFailure()
  t.same(p.next(), { action: 'wait', ms: 1000 })
  clock.t += 600
  t.same(p.next(), { action: 'wait', ms: 400 })
})

t.test('streaming stably resets the backoff; flapping does not', async (t) => {
  const { clock, policy } = fake()
  const p = policy({ probeIntervalMs: 0, stableMs: 10_000 })
  p.next()
  p.recordFailure()
  p.recordFailure()
  p.recordStreaming()
  clock.t += 2000 // flapped after 2 s
  t.equal(p.recordFailure(), 4000)
  p.recordStreaming()
  clock.t += 10_000
  t.equal(p.recordFailure(), 1000)
})

t.test('invalid configs are refused', async (t) => {
  t.throws(() => new ReconnectPolicy({ initialMs: 0 }), /initialMs/)
  t.throws(() => new ReconnectPolicy({ initialMs: 5000, maxMs: 1000 }), /maxMs/)
  t.throws(() => new ReconnectPolicy({ jitter: 1 }), /jitter/)
  t.throws(() => new ReconnectPolicy({ probeIntervalMs: -1 }), /probeIntervalMs/)
  t.throws(() => new ReconnectPolicy({ stableMs: -1 }), /stableMs/)
  const p = new ReconnectPolicy()
  t.equal(p.next().action, 'attempt', 'default deps work')
})
