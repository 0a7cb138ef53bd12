import t from 'tap'
import { TickLoop } from '../src/index.js'

t.test('ticks run tasks and timers, and record intervals', async (t) => {
  const loop = new TickLoop({ periodMs: 2 })
  let ticks = 0
  let timer = 0
  loop.onTick(() => ticks++)
  loop.every(10, () => timer++)
  loop.start()
  t.ok(loop.running)
  await new Promise((r) => setTimeout(r, 120))
  loop.stop()
  t.notOk(loop.running)
  t.ok(ticks >= 10, `ran ${ticks} ticks`)
  t.ok(timer >= 2 && timer <= ticks, `timer ran ${timer} times`)
  const stats = loop.totals()
  t.equal(stats.ticks, ticks)
  t.ok(stats.tick_ms_p50 > 0, 'intervals recorded')
  t.ok(stats.tick_ms_max >= stats.tick_ms_p99 && stats.tick_ms_p99 >= stats.tick_ms_p50)
  t.ok(stats.work_ms_p99 >= stats.work_ms_p50 && stats.work_ms_p99 < stats.tick_ms_p99, 'work inside a tick is shorter than the period')
  t.equal(stats.lateness_ms_p99, Math.round(Math.max(0, stats.tick_ms_p99 - 2) * 1000) / 1000)
})

t.test('a gap above warnGapMs is counted and warned about, at most once a second', async (t) => {
  const warnings: Array<Record<string, unknown> | undefined> = []
  const logger = { debug() {}, info() {}, error() {}, warn: (_m: string, f?: Record<string, unknown>) => warnings.push(f) }
  const loop = new TickLoop({ periodMs: 5, warnGapMs: 8, logger })
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  loop.tick()
  Atomics.wait(sleeper, 0, 0, 20) // a starved loop
  loop.tick()
  Atomics.wait(sleeper, 0, 0, 20)
  loop.tick()
  t.equal(loop.lateTicks, 2)
  t.equal(warnings.length, 1, 'the second late tick within a second is folded in')
  t.ok((warnings[0]!.gap_ms as number) >= 15)
  t.ok(loop.maxGapMs >= 15)
  t.ok(loop.stats().tick_ms_max >= 15, 'the window shows the gap')
})

t.test('an invalid period is refused', async (t) => {
  t.throws(() => new TickLoop({ periodMs: 0 }), RangeError)
  const stats = new TickLoop().stats()
  t.same(stats, { ticks: 0, tick_ms_p50: 0, tick_ms_p99: 0, tick_ms_max: 0, late_ticks: 0, work_ms_p50: 0, work_ms_p99: 0, lateness_ms_p99: 0 })
})
