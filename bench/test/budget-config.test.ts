// `heart budget --config FILE` budgets what `heart run --config FILE` starts:
// checked against the rings a real run of the same file allocates.
import t from 'tap'
import { join } from 'node:path'
import { runHeart } from '@heart/cli'
import { silentLogger } from '@heart/kernel'
import { computeRigBudget } from '../src/budget-cameras.js'
import { budgetMain, parseBudgetArgs } from '../src/budget-cli.js'
import { rigFromConfig } from '../src/budget-config.js'

const CONFIG = [
  'http: { port: 0 }',
  'thermal: { enabled: false }',
  'consumers: [{ name: movement_detector, kind: motion }]',
  'cameras:',
  '  whole: { source: "testsrc://?size=640x360&fps=30", expect: { maxSize: 640x360 }, consumers: [{ name: movement_detector, kind: motion, depth: 12 }, { name: check, kind: verify }] }',
  '  small: { source: "testsrc://?size=640x360&fps=15", expect: { maxSize: 640x360 }, output: { width: 320, height: 180 }, pixFmt: gray }',
  '  spare: { source: "rtsp://127.0.0.1:9/none", enabled: false }',
].join('\n') + '\n'

t.test('each enabled camera as the file gives it: frame size after output, format, rate, consumers, depth', async (t) => {
  const file = join(t.testdir({ 'heart.yaml': CONFIG }), 'heart.yaml')
  const rig = rigFromConfig(file)
  t.same(rig.disabled, ['spare'], 'the disabled camera is named, not counted')
  t.match(rig.cameras, [
    { name: 'whole', width: 640, height: 360, fps: 30, pixFmt: 'yuv420p', consumers: 2, consumerDepths: [12, 2], motion: true, record: false },
    { name: 'small', width: 320, height: 180, fps: 15, pixFmt: 'gray', consumers: 1, motion: true, record: false },
  ])
  t.same(rig.cameras.map((c) => c.name), ['whole', 'small'])
})

t.test('the budget\'s frame rings are the rings heart run allocates for the same file', async (t) => {
  const file = join(t.testdir({ 'heart.yaml': CONFIG }), 'heart.yaml')
  const budget = computeRigBudget(rigFromConfig(file).cameras)
  const heart = await runHeart({ configFile: file, status: false, logger: silentLogger, durationS: 30 })
  t.teardown(() => heart.stop())
  for (const camera of heart.cameras) {
    const row = budget.cameras.find((c) => c.name === camera.name)!
    const allocated = camera.capture.ring.buffer.byteLength / 1e6
    t.equal(row.ring_slots, camera.capture.ring.stats().slotCount, `${camera.name}: the slots heart run made`)
    t.ok(Math.abs(row.ring_memory_mb - allocated) / allocated < 0.01, `${camera.name}: ${row.ring_memory_mb} MB budgeted, ${allocated.toFixed(2)} MB allocated`)
  }
})

t.test('flags give what a config cannot say; flags the file says are refused by name; a bad file is CONFIG_INVALID, exit 2', async (t) => {
  const dir = t.testdir({ 'heart.yaml': 'cameras:\n  cam: { source: "rtsp://127.0.0.1:9/cam" }\n  other: { source: "rtsp://127.0.0.1:9/other", fpsCap: 10 }\n', 'bad.yaml': 'cameras:\n  a: { source: "rtsp://127.0.0.1:9/a", pixfmt: gray }\n' })
  const { rig } = parseBudgetArgs(['--config', join(dir, 'heart.yaml'), '--fps', '25', '--codec', 'hevc'])
  t.match(rig!.cameras, [{ name: 'cam', fps: 25, codec: 'hevc' }, { name: 'other', fps: 10, codec: 'hevc' }], 'an RTSP camera\'s rate from --fps, unless its fpsCap says one')
  t.throws(() => parseBudgetArgs(['--config', join(dir, 'heart.yaml'), '--cameras', '3']), /--config takes its cameras from the file: drop --cameras/)
  t.throws(() => parseBudgetArgs(['--config', join(dir, 'heart.yaml'), '--depth', '3']), /--depth has no effect with --config/)
  const errors: string[] = []
  const write = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as unknown as typeof process.stderr.write
  let code: number
  try {
    code = await budgetMain(['--config', join(dir, 'bad.yaml')], () => undefined)
  } finally {
    process.stderr.write = write
  }
  t.equal(code, 2, 'exit 2')
  t.match(errors.join(''), /\[CONFIG_INVALID\][\s\S]*cameras\.a\.pixfmt: unknown setting \(did you mean "pixFmt"\?\)/, 'the mistake named as heart run names it')
  t.notMatch(errors.join(''), /\n\s+at /, 'no stack trace')
})
