import t from 'tap'
import { startBrightnessApp, type Brightness } from '../src/app.js'

t.test('the app registers its own consumer and receives its events', async (t) => {
  const seen: Brightness[] = []
  const app = startBrightnessApp('synthetic://?size=320x240&fps=60', (b) => seen.push(b))
  t.teardown(() => app.stop())
  const end = Date.now() + 15_000
  while (seen.length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  t.ok(seen.length >= 5, `received ${seen.length} brightness events`)
  for (let i = 1; i < seen.length; i++) t.equal(seen[i]!.seq - seen[i - 1]!.seq, 10, 'one event every 10th frame, none lost')
  for (const b of seen) {
    t.same([b.width, b.height], [320, 240])
    // The synthetic pattern's luma sweeps every value 0..255 evenly along each row block: mean ~127.5.
    t.ok(Math.abs(b.mean - 127.5) < 4, `mean luma ${b.mean.toFixed(2)} is the pattern's`)
  }
  const health = app.kernel.report()
  t.equal(health.consumers.brightness?.state, 'active')
  t.equal(health.workers.brightness?.crashes, 0)
})
