import t from 'tap'
import { requiredSlotCount } from '@heart/ring'
import { budgetMarkdown, computeBudget, formatBudget, standardConfigurations } from '../src/budget.js'
import { budgetMain, parseBudgetArgs } from '../src/budget-cli.js'

t.test('bytes per frame follow the ring layout for each pixel format', async (t) => {
  t.equal(computeBudget({ width: 1920, height: 1080, pixFmt: 'yuv420p' }).bytes_per_frame, 1920 * 1080 * 1.5)
  t.equal(computeBudget({ width: 1920, height: 1080, pixFmt: 'nv12' }).bytes_per_frame, 1920 * 1080 * 1.5)
  t.equal(computeBudget({ width: 1920, height: 1080, pixFmt: 'rgb24' }).bytes_per_frame, 1920 * 1080 * 3)
  // A width that is not a multiple of the stride alignment costs padding, which the budget must show.
  const odd = computeBudget({ width: 1366, height: 768, pixFmt: 'gray' })
  t.ok(odd.bytes_per_frame > 1366 * 768, `padded rows: ${odd.bytes_per_frame} > ${1366 * 768}`)
})

t.test('ring and bandwidth figures', async (t) => {
  const b = computeBudget({ width: 1920, height: 1080, fps: 60, pixFmt: 'yuv420p', consumers: 4, depth: 2, leases: 1, spare: 2 })
  t.equal(b.ring_slots, requiredSlotCount(6, 2, 1), 'the ring sizing rule')
  t.equal(b.ring_memory_mb, Math.round(b.ring_slots * 3110400 / 1e4) / 100)
  t.equal(b.ring_write_mb_s, 186.62)
  t.equal(b.memory_traffic_mb_s, Math.round(186.624 * 6 * 100) / 100, 'one copy (read + write) and four full reads')
  t.equal(b.wire_mbit_s, 7.96, 'the H.264 estimate: about 8 Mbit/s at 1080p60')
  t.equal(computeBudget({ bitrateMbps: 12 }).wire_mbit_s, 12, 'a given bitrate wins')
  const deeper = computeBudget({ depth: 3 })
  t.equal(deeper.ring_slots - b.ring_slots, 6, 'one more depth step costs consumers + spare slots')
  t.ok(computeBudget({ width: 3840, height: 2160, fps: 30, pixFmt: 'rgb24' }).headroom.memory_bandwidth < 0, '4K30 rgb24 does not fit the default bandwidth')
})

t.test('thermal bus usage: 100 kHz cannot carry 10 Hz, 400 kHz can', async (t) => {
  const b = computeBudget({ thermalHz: 10 })
  const at = (hz: number) => b.thermal.find((x) => x.bus_hz === hz)!
  t.equal(at(100_000).fits, false)
  t.ok(at(100_000).bus_share > 1)
  t.equal(at(400_000).fits, true)
  t.ok(at(400_000).bus_share > 0.3 && at(400_000).bus_share < 0.5, `400 kHz share ${at(400_000).bus_share}`)
  t.ok(at(1_000_000).bus_share < at(400_000).bus_share)
})

t.test('bad configurations are refused with the reason', async (t) => {
  t.throws(() => computeBudget({ fps: 0 }), /fps/)
  t.throws(() => computeBudget({ pixFmt: 'yuv444p' as never }), /unknown pixel format "yuv444p"/)
  t.throws(() => computeBudget({ codec: 'av1' as never }), /unknown wire codec/)
  t.throws(() => parseBudgetArgs(['--size', '1920']), /--size must look like 1920x1080/)
  t.throws(() => parseBudgetArgs(['--fps', '-3']), /--fps must be a positive number/)
  t.throws(() => parseBudgetArgs(['--bogus']), /unknown option --bogus/)
  t.throws(() => parseBudgetArgs(['--markdown', 'x.md']), /add --standard/)
  t.same(parseBudgetArgs(['--size=1280x720', '--fps', '30', '--format', 'nv12']).config, { width: 1280, height: 720, fps: 30, pixFmt: 'nv12' })
})

t.test('text, JSON and the generated planning page', async (t) => {
  t.match(formatBudget(computeBudget()), /bytes per frame\s+3,110,400 B/)
  let out = ''
  t.equal(await budgetMain(['--json', '--fps', '30'], (s) => (out += s)), 0)
  t.equal(JSON.parse(out).config.fps, 30)
  const md = budgetMarkdown()
  t.equal(standardConfigurations().length, 12, '4 modes x 3 pixel formats')
  for (const s of standardConfigurations()) t.match(md, `| ${s.label} |`)
  t.match(md, /100 kHz/)
})

t.test('the committed planning page is what the generator writes (regenerate: pnpm heart budget --standard --markdown docs/planning/camera_ingest_budget.md)', async (t) => {
  const { readFileSync } = await import('node:fs')
  const committed = readFileSync(new URL('../../../docs/planning/camera_ingest_budget.md', import.meta.url), 'utf8')
  t.equal(committed, budgetMarkdown(), 'docs/planning/camera_ingest_budget.md is up to date')
})

t.test('the packet ring grows with the wire rate and the pre-roll, as heart run sizes it', (t) => {
  const base = computeBudget({ bitrateMbps: 8, preSeconds: 5, gopSeconds: 4 })
  const faster = computeBudget({ bitrateMbps: 16, preSeconds: 5, gopSeconds: 4 })
  const longer = computeBudget({ bitrateMbps: 8, preSeconds: 25, gopSeconds: 4 })
  // 11 s at 8 Mbit/s is 11 MB of stream; the ring adds headroom on top.
  t.ok(base.packet_ring_mb >= 11 && base.packet_ring_mb < 20, `${base.packet_ring_mb} MB for 11 s at 8 Mbit/s`)
  t.ok(faster.packet_ring_mb > base.packet_ring_mb * 1.8, 'twice the bitrate, about twice the ring')
  t.ok(longer.packet_ring_mb > base.packet_ring_mb * 2.5, 'a longer pre-roll, a larger ring')
  t.match(formatBudget(base), /packet ring {12}\d+(\.\d+)? MB \(pre-roll 5 s \+ GOP 4 s/)
  t.end()
})
