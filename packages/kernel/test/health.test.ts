import t from 'tap'
import { HEALTH_WINDOW_S, HealthAggregator, TickLoop } from '../src/index.js'

t.test('the tick p99 is judged on the last 60 s: health turns green again once a start-up burst has left the window', async (t) => {
  let nowMs = 1_000_000
  const loop = new TickLoop({ periodMs: 5, now: () => nowMs })
  const health = new HealthAggregator({
    loop: () => loop.stats(),
    loopWholeRun: () => loop.totals(),
    loopWindowS: loop.windowSeconds,
    workers: () => [],
    events: () => ({ queued: 0, dropped: 0 }),
  })
  t.equal(loop.windowSeconds, HEALTH_WINDOW_S)
  t.equal(HEALTH_WINDOW_S, 60)
  /** Ticks for `seconds` of the injected clock, `gapMs` apart. */
  const run = (seconds: number, gapMs = 5): void => {
    for (let elapsed = 0; elapsed < seconds * 1000; elapsed += gapMs) {
      nowMs += gapMs
      loop.tick()
    }
  }
  loop.tick()
  run(1)
  t.equal(health.report().status, 'green', 'steady 5 ms ticks')

  run(2, 30) // the start-up burst: workers starting and warming up
  const during = health.report()
  t.equal(during.status, 'yellow')
  t.match(during.reasons.join(' '), /main loop tick p99 [\d.]+ ms over the last 60 s above 8 ms/)

  run(30)
  t.equal(health.report().status, 'yellow', '30 s later the burst is still in the window')

  run(35)
  const after = health.report()
  t.equal(after.status, 'green', 'a minute later it has left the window')
  t.same(after.reasons, [])
  t.ok(after.loop.tick_ms_max < 8, `the window no longer holds the burst (max ${after.loop.tick_ms_max} ms)`)
  t.ok(after.loop_whole_run.tick_ms_max >= 30, `the whole-run figures still show it (max ${after.loop_whole_run.tick_ms_max} ms)`)
  t.equal(after.loop_whole_run.late_ticks, after.loop.late_ticks, 'late ticks are counted since start in both')

  run(5, 30) // more than 1 % of a full window's ticks
  t.equal(health.report().status, 'yellow', 'a new burst is judged again')
})

t.test('without whole-run figures the report repeats the window\'s', async (t) => {
  const health = new HealthAggregator({
    loop: () => new TickLoop().stats(),
    workers: () => [],
    events: () => ({ queued: 0, dropped: 0 }),
  })
  const report = health.report()
  t.same(report.loop_whole_run, report.loop)
})
