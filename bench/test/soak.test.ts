// The soak harness end to end, short: a small synthetic camera, every
// consumer kind, the emulated thermal sensor, and the three faults that do
// not need a decoder restart. Targets are not asserted here (a loaded test
// machine is no place for them); the report's shape and the faults' effects are.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runSoak } from '../src/soak.js'

t.test('a short soak records every second, plays its faults and writes both reports', async (t) => {
  const dir = t.testdir({})
  const json = join(dir, 'soak.json')
  const lines: string[] = []
  const result = await runSoak({
    durationS: 36,
    warmupS: 3,
    source: 'synthetic://?size=640x360&fps=30',
    faults: ['consumer_crash', 'stalled_consumer', 'thermal_bus_errors'],
    json,
    log: (l) => lines.push(l),
  })
  const written = JSON.parse(readFileSync(json, 'utf8'))
  const html = readFileSync(join(dir, 'soak.html'), 'utf8')
  t.equal(written.scope, 'soak')
  t.match(written.machine, { cores: Number, cpu_model: String })
  t.equal(written.targets.length, 7, 'six targets and the fault recovery check')
  t.equal(result.pass, written.targets.every((c: { pass: boolean }) => c.pass), 'the verdict is the targets together')
  t.ok(written.seconds.length >= 28, `one record a second (${written.seconds.length})`)
  const s = written.seconds[10]
  for (const key of ['fps', 'consumers', 'latency_ms', 'decode_ms', 'tick_ms', 'ring', 'thermal', 'rss_mb', 'cpu_percent']) t.ok(key in s, `second.${key}`)
  t.same(Object.keys(s.latency_ms).sort(), ['publish_to_consume', 'receive_to_decode', 'receive_to_publish'])
  // Workers start one after another; on a loaded machine the last may report only seconds later: judge each
  // thread by the first second that has it (that it is recorded at all, and sanely, is what is checked).
  type Second = { heap_used_mb: Record<string, number>; heap_total_mb: Record<string, number>; thread_cpu_percent: Record<string, number> }
  const seconds = written.seconds as Second[]
  const firstWith = (name: string, key: keyof Second): Second => seconds.find((sec) => sec[key][name] !== undefined) ?? s
  for (const name of ['main', 'capture', 'movement_detector', 'telemetry_stream', 'thermal']) {
    const sec = firstWith(name, 'heap_used_mb')
    t.ok(sec.heap_used_mb[name]! > 0 && sec.heap_total_mb[name]! >= sec.heap_used_mb[name]!, `heap of ${name}: ${sec.heap_used_mb[name]} of ${sec.heap_total_mb[name]} MB`)
  }
  t.match(html, /JavaScript heap in use, per thread/)
  t.match(html, /JavaScript heap reserved, per thread/)
  for (const name of ['main', 'capture', 'movement_detector', 'telemetry_stream', 'thermal']) {
    const busy = seconds.find((sec) => sec.thread_cpu_percent[name]! > 0)
    t.ok(busy, `CPU of ${name}: ${busy?.thread_cpu_percent[name]} % (each thread is busy: the viewer keeps the encoder working)`)
  }
  t.match(html, /CPU per thread/)
  const followed = new Set(written.seconds.flatMap((x: { consumers: object }) => Object.keys(x.consumers)))
  for (const name of ['movement_detector', 'detection_client', 'telemetry_stream', 'frame_verifier', 'stall_probe']) t.ok(followed.has(name), `${name} is followed`)

  const fault = (kind: string) => written.faults.find((f: { kind: string }) => f.kind === kind)
  const stall = fault('stalled_consumer')
  t.ok(stall.startedS !== null && stall.endedS > stall.startedS, 'the stall was held')
  t.ok(stall.effect.lost_by_consumer.stall_probe > 0, `the stalled consumer lost frames (${stall.effect.lost_by_consumer.stall_probe})`)
  t.not(stall.recoveredS, null, 'and recovered')
  const crash = fault('consumer_crash')
  t.not(crash.recoveredS, null, 'the crashed consumer came back')
  t.equal(written.results.whole_run.camera_reopens, 0)
  const thermal = fault('thermal_bus_errors')
  t.equal(thermal.error, null, 'the thermal poller restarted with and without bus faults')
  t.ok(thermal.effect.thermal_lost > 0, `bus errors cost thermal frames (${thermal.effect.thermal_lost})`)

  t.match(html, /<svg /)
  t.notMatch(html, /<script/i)
  t.match(lines.join('\n'), /frame drops \(worst consumer\)/, 'the summary table is printed')
})
