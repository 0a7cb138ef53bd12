import t from 'tap'
import { CaptureHealthReader, CaptureHealthWriter, createHealthBuffer, healthStatus } from '../src/health-block.js'
import { F64_STARTED_MS, HEALTH_BYTES } from '../src/health-layout.js'

const thresholds = { redAfterMs: 3000, yellowForMs: 10_000 }

t.test('figures written by the worker side are read back on the main side', async (t) => {
  const clock = { t: 1000 }
  const now = (): number => clock.t
  const buf = createHealthBuffer()
  const w = new CaptureHealthWriter(buf, now)
  const r = new CaptureHealthReader(buf, now)
  // createHealthBuffer stamps the real start time; the fake clock runs from there.
  clock.t = new Float64Array(buf)[F64_STARTED_MS]!
  w.setSource('rtsp://***@cam/s1')
  let h = r.snapshot(thresholds)
  t.match(h, { state: 'idle', status: 'yellow', last_frame_age_ms: null, frames_per_s: 0, decode_ms_p50: null, reopens_total: 0, last_error: null, source: 'rtsp://***@cam/s1' })
  w.beginOpen(false)
  w.opened({ backend: 'software (h264, 2 threads)', codec: 'h264', width: 640, height: 360 })
  clock.t += 40
  w.frame(4, 6, 40)
  for (let i = 1; i <= 60; i++) {
    clock.t += 1000 / 30
    w.frame(2 + (i % 3), 3)
  }
  w.summarize()
  h = r.snapshot(thresholds)
  t.match(h, {
    state: 'streaming', status: 'green', backend: 'software (h264, 2 threads)', codec: 'h264', width: 640, height: 360,
    decode_ms_first_frame: 40, decode_ms_p50: 3, decode_ms_p99: 4, frames_total: 61, last_frame_age_ms: 0,
    receive_to_publish_ms_p50: 3, receive_to_publish_ms_p99: 6,
  })
  t.ok(Math.abs(h.frames_per_s - 30) < 1, `fps ${h.frames_per_s}`)
  t.equal(w.recvToPublish.snapshot().count, 61)

  w.decodeError()
  h = r.snapshot(thresholds)
  t.match(h, { decode_errors_total: 1, status: 'yellow', state: 'streaming' })

  w.failure({ code: 'STALLED', message: 'no frame from rtsp://***@cam/s1 for 2000 ms' })
  w.beginOpen(true)
  clock.t += 3500
  h = r.snapshot(thresholds)
  t.match(h, { state: 'connecting', failures_total: 1, reopens_total: 1, status: 'red', last_frame_age_ms: 3500, last_error_code: 'STALLED', last_error: /^STALLED: no frame from/ })
  w.slotsFull()
  t.equal(r.snapshot(thresholds).slots_full_total, 1)
  w.setState('stopped')
  t.equal(r.snapshot(thresholds).state, 'stopped')
})

t.test('AI-lock word is shared both ways', async (t) => {
  const buf = createHealthBuffer()
  const w = new CaptureHealthWriter(buf)
  const r = new CaptureHealthReader(buf)
  t.equal(w.aiLocked(), false)
  r.setAiLock(true)
  t.equal(w.aiLocked(), true)
  t.equal(r.snapshot(thresholds).ai_locked, true)
  r.setAiLock(false)
  t.equal(w.aiLocked(), false)
})

t.test('long strings are cut on a character boundary', async (t) => {
  const buf = createHealthBuffer()
  const w = new CaptureHealthWriter(buf)
  const r = new CaptureHealthReader(buf)
  w.failure({ code: 'X', message: 'é'.repeat(2000) })
  const msg = r.snapshot(thresholds).last_error!.slice(3)
  t.ok(msg.length > 100 && msg.length <= 510)
  t.notMatch(msg, /\uFFFD/, 'no replacement characters')
})

t.test('foreign buffers are refused', async (t) => {
  t.throws(() => new CaptureHealthReader(new SharedArrayBuffer(8)), /SharedArrayBuffer of/)
  t.throws(() => new CaptureHealthWriter(new SharedArrayBuffer(HEALTH_BYTES)), /wrong magic/)
})

t.test('the colour rule', async (t) => {
  const base = { state: 'streaming' as const, lastFrameAgeMs: 10, sinceStartMs: 100_000, sinceFailureMs: null }
  t.equal(healthStatus(base, thresholds), 'green')
  t.equal(healthStatus({ ...base, sinceFailureMs: 5000 }, thresholds), 'yellow', 'after a failure')
  t.equal(healthStatus({ ...base, sinceFailureMs: 20_000 }, thresholds), 'green', 'failure long ago')
  t.equal(healthStatus({ ...base, lastFrameAgeMs: 3001 }, thresholds), 'red', 'frames too old')
  t.equal(healthStatus({ ...base, state: 'backoff', lastFrameAgeMs: 1000 }, thresholds), 'yellow')
  t.equal(healthStatus({ ...base, state: 'connecting', lastFrameAgeMs: null, sinceStartMs: 1000 }, thresholds), 'yellow', 'starting up')
  t.equal(healthStatus({ ...base, state: 'connecting', lastFrameAgeMs: null, sinceStartMs: 4000 }, thresholds), 'red', 'never streamed')
  t.equal(healthStatus({ ...base, state: 'stopped' }, thresholds), 'red')
})
