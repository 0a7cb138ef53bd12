import t from 'tap'
import { monotonicMs, RateWindow } from '../src/stats.js'

t.test('RateWindow measures a steady rate and decays when events stop', async (t) => {
  const r = new RateWindow(2000)
  t.equal(r.rate(0), 0)
  for (let i = 0; i <= 30; i++) r.add(i * 1000 / 30) // 30 fps for 1 s
  t.equal(Math.round(r.rate(1000)), 30, 'filling window')
  for (let i = 31; i <= 90; i++) r.add(i * 1000 / 30) // 3 s total
  t.ok(Math.abs(r.rate(3000) - 30) <= 1, 'full window')
  t.ok(r.rate(4000) < 16, 'half the window empty')
  t.equal(r.rate(5100), 0, 'stopped stream decays to 0')
  r.clear()
  t.equal(r.rate(6000), 0)
  t.throws(() => new RateWindow(0))
})

t.test('monotonicMs is process-wide hrtime in ms', async (t) => {
  const a = monotonicMs()
  const ns = Number(process.hrtime.bigint()) / 1e6
  t.ok(ns >= a && ns - a < 1000)
})
