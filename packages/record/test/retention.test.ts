import t from 'tap'
import { planRetention } from '../src/retention.js'
import type { SegmentFile } from '../src/segment-files.js'

const MB = 1024 * 1024
const hour = 3600_000
const now = Date.parse('2026-12-07T12:00:00Z')
const seg = (name: string, ageHours: number, mb: number): SegmentFile => ({
  path: `/r/front/${name}`, name, startMs: now - ageHours * hour - 60_000, modifiedMs: now - ageHours * hour, bytes: mb * MB,
})
const segments = [seg('a.mp4', 30, 100), seg('b.mp4', 20, 100), seg('c.mp4', 2, 100), seg('d.mp4', 0, 100)]

t.test('by age: everything older than retain.hours, nothing newer', (t) => {
  const plan = planRetention({ hours: 24, minFreeMb: 0 }, { segments, nowMs: now, freeBytes: 10_000 * MB, writing: new Set() })
  t.same(plan.delete.map((d) => [d.segment.name, d.why]), [['a.mp4', 'age']])
  t.equal(plan.stillShort, false)
  t.end()
})

t.test('by free space: oldest first until minFreeMb is free, never the file being written', (t) => {
  const plan = planRetention({ hours: undefined, minFreeMb: 1000 }, { segments, nowMs: now, freeBytes: 850 * MB, writing: new Set(['/r/front/d.mp4']) })
  t.same(plan.delete.map((d) => [d.segment.name, d.why]), [['a.mp4', 'free_space'], ['b.mp4', 'free_space']])
  t.equal(plan.freeBytesAfter, 1050 * MB)
  t.equal(plan.stillShort, false)
  t.end()
})

t.test('when deleting all it may still leaves too little space, the plan says so (recording pauses)', (t) => {
  const plan = planRetention({ hours: undefined, minFreeMb: 5000 }, { segments, nowMs: now, freeBytes: 100 * MB, writing: new Set(['/r/front/d.mp4']) })
  t.equal(plan.delete.length, 3)
  t.equal(plan.stillShort, true)
  t.end()
})

t.test('age and space together; enough space and young files delete nothing', (t) => {
  const both = planRetention({ hours: 24, minFreeMb: 1000 }, { segments, nowMs: now, freeBytes: 800 * MB, writing: new Set() })
  t.same(both.delete.map((d) => [d.segment.name, d.why]), [['a.mp4', 'age'], ['b.mp4', 'free_space']])
  const none = planRetention({ hours: 48, minFreeMb: 10 }, { segments, nowMs: now, freeBytes: 800 * MB, writing: new Set() })
  t.same(none.delete, [])
  t.end()
})
