import t from 'tap'
import { isLoss, judge, targetTable, worstDropRatio, type SteadyFigures } from '../src/soak-targets.js'

const good = (): SteadyFigures => ({
  seconds: 500,
  consumers: { a: { offered: 30000, lost: 0 }, b: { offered: 30000, lost: 30 } },
  producerLost: 0,
  published: 30000,
  tickP99Ms: 5.5,
  receiveToPublishP99Ms: 12,
  thermalHz: 10,
  thermalLoss: 0.01,
  rssGrowth: 0.005,
})

t.test('a run at the targets passes every check', async (t) => {
  const checks = judge(good())
  t.equal(checks.length, 6)
  t.ok(checks.every((c) => c.pass), targetTable(checks))
})

t.test('each target fails on its own just past its limit', async (t) => {
  const cases: Array<[string, (f: SteadyFigures) => void]> = [
    ['frame drops (worst consumer)', (f) => (f.consumers.b!.lost = 31)],
    ['main tick interval p99', (f) => (f.tickP99Ms = 8)],
    ['receive to publish p99', (f) => (f.receiveToPublishP99Ms = 30.01)],
    ['thermal rate', (f) => (f.thermalHz = 9.49)],
    ['thermal loss', (f) => (f.thermalLoss = 0.0501)],
    ['RSS growth after warm-up (steady drift)', (f) => (f.rssGrowth = 0.021)],
  ]
  for (const [name, spoil] of cases) {
    const f = good()
    spoil(f)
    const failed = judge(f).filter((c) => !c.pass).map((c) => c.name)
    t.same(failed, [name], `only "${name}" fails`)
  }
})

t.test('missing figures fail rather than pass', async (t) => {
  const f = good()
  f.thermalHz = null
  f.thermalLoss = null
  f.rssGrowth = null
  t.same(judge(f).filter((c) => !c.pass).map((c) => c.name), ['thermal rate', 'thermal loss', 'RSS growth after warm-up (steady drift)'])
})

t.test('drops: the worst consumer, producer losses count for everyone, policy skips are not losses', async (t) => {
  const f = good()
  t.same(worstDropRatio(f), { consumer: 'b', ratio: 0.001 })
  f.producerLost = 10
  t.equal(worstDropRatio(f).ratio, 40 / 30010)
  t.equal(isLoss('rate_limited'), false)
  t.equal(isLoss('ai_locked'), false)
  t.equal(isLoss('movement_detector_slow'), true)
  t.equal(isLoss('reclaimed'), true)
})
