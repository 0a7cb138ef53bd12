// Reloading the config (SIGHUP, issue 14): cameras added, removed or changed
// in the file start and stop; a camera left as it was is not touched (its
// capture and consumer workers are the same ones, and it loses no frame); a
// broken file or a change heart cannot make while running is refused with
// the reason, and the running cameras are kept.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { silentLogger, type HealthReport, type Logger } from '@heart/kernel'
import { waitFor } from '@heart/telemetry/testing'
import { runHeart } from '../src/run.js'

const camera = (fps: number): string => `{ source: "testsrc://?size=160x120&fps=${fps}", expect: { maxSize: 160x120 } }`
const configText = (cameras: Record<string, string>, extra = ''): string =>
  [
    'http: { port: 0 }',
    'thermal: { enabled: false }',
    // A queue of a second: the workers a reload starts take the CPU for a while on a loaded 2-core box, and a slow drop then would be
    // starvation, not the reload losing frames (which this test is about).
    'consumers: [{ name: movement_detector, kind: motion, depth: 30 }]',
    extra,
    'cameras:',
    ...Object.entries(cameras).map(([name, entry]) => `  ${name}: ${entry}`),
  ].join('\n') + '\n'

const delivered = (h: HealthReport, name: string): number => h.cameras?.[name]?.consumers.movement_detector?.delivered ?? 0
const lost = (h: HealthReport, name: string): number => Object.values(h.cameras?.[name]?.consumers.movement_detector?.dropped ?? {}).reduce((a, b) => a + b, 0)

t.test('a reload starts the added camera, stops the removed one, restarts the changed one and leaves the unchanged one alone', async (t) => {
  const file = join(t.testdir({ 'heart.yaml': configText({ front: camera(30), rear: camera(30), old: camera(30) }) }), 'heart.yaml')
  const logs: Array<{ msg: string; fields: Record<string, unknown> }> = []
  const line = (msg: string, fields: Record<string, unknown> = {}): void => void logs.push({ msg, fields })
  const logger: Logger = { debug: line, info: line, warn: line, error: line }
  const heart = await runHeart({ configFile: file, status: false, logger, durationS: 120 })
  t.teardown(() => heart.stop())
  const base = `http://127.0.0.1:${heart.http.port}`
  const health = async (): Promise<HealthReport> => (await (await fetch(`${base}/health`)).json()) as HealthReport
  await waitFor(async () => {
    const h = await health()
    return ['front', 'rear', 'old'].every((name) => delivered(h, name) >= 30)
  }, 'every camera streaming', () => health())
  const workers = (): Map<string, number> => new Map(heart.kernel.supervisor.statuses().map((w) => [w.name, w.starts]))
  const frontCapture = heart.cameras.find((c) => c.name === 'front')!.capture
  const rearCapture = heart.cameras.find((c) => c.name === 'rear')!.capture
  const before = await health()
  const publishedBefore = Number(frontCapture.ring.published())

  writeFileSync(file, configText({ front: camera(30), rear: camera(15), side: camera(30) }))
  const result = await heart.reload()
  t.same(
    { applied: result.applied, added: result.added, removed: result.removed, restarted: result.restarted, unchanged: result.unchanged, failed: result.failed, errors: result.errors },
    { applied: true, added: ['side'], removed: ['old'], restarted: ['rear'], unchanged: ['front'], failed: [], errors: [] },
    'what the reload did, camera by camera',
  )
  t.same(heart.cameras.map((c) => c.name), ['front', 'rear', 'side'], 'the kept camera stays first; the new and restarted ones follow')
  t.equal(heart.cameras.find((c) => c.name === 'front')!.capture, frontCapture, 'the unchanged camera keeps its capture')
  t.not(heart.cameras.find((c) => c.name === 'rear')!.capture, rearCapture, 'the changed camera has a new capture')
  const after = workers()
  t.equal(after.get('front.capture'), 1, 'the unchanged camera\'s capture worker was never restarted')
  t.equal(after.get('front.movement_detector'), 1, 'nor its consumer')
  t.notOk([...after.keys()].some((w) => w.startsWith('old.')), 'no worker of the removed camera runs')
  t.ok(after.has('side.capture') && after.has('side.movement_detector'), 'the added camera\'s workers run')

  await waitFor(async () => delivered(await health(), 'side') >= 30 && delivered(await health(), 'rear') >= 15, 'the added and restarted cameras streaming', () => health())
  const now = await health()
  t.ok(logs.some((l) => l.msg === 'config reloaded'), 'the reload is logged')
  const opened = logs.filter((l) => l.msg === 'source opened').map((l) => `${String(l.fields.camera)} ${String(l.fields.service)}`)
  t.ok(opened.includes('side side.capture') && opened.includes('rear rear.capture'), `a camera worker's log lines say its camera (${opened.join(', ')})`)
  t.notOk(now.cameras?.old, '/health no longer lists the removed camera')
  t.ok(delivered(now, 'front') > delivered(before, 'front') + 30, 'the unchanged camera streamed on through the reload')
  t.equal(lost(now, 'front') - lost(before, 'front'), 0, `and lost no frame across it (dropped before: ${JSON.stringify(before.cameras?.front?.consumers.movement_detector?.dropped)}, after: ${JSON.stringify(now.cameras?.front?.consumers.movement_detector?.dropped)})`)
  // Every frame published since before the reload reached its consumer (up to its queue of 30 may still be waiting).
  const published = Number(frontCapture.ring.published()) - publishedBefore
  const got = delivered(now, 'front') - delivered(before, 'front')
  t.ok(published > 30 && published - got <= 30, `its consumer got every frame published across the reload (${published} published, ${got} delivered; the rest queued)`)
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /camera="side"/, '/metrics has the added camera\'s series')
  t.notMatch(metrics, /camera="old"/, 'and none of the removed camera')
  const post = (path: string): Promise<Response> => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.same(await (await post('/cameras/side/down')).json(), { ai_locked: true }, 'the added camera\'s routes are served')
  t.equal(heart.cameras.find((c) => c.name === 'side')!.capture.aiLocked, true, 'and reach its capture')
  const gone = await post('/cameras/old/down')
  await gone.arrayBuffer()
  t.equal(gone.status, 404, 'the removed camera\'s routes are gone')

  const summary = await heart.stop()
  t.ok(summary.cameras.old && summary.cameras.old.published > 0, 'the summary keeps the removed camera\'s figures until it stopped')
  t.ok(summary.cameras.side && summary.cameras.side.published > 0, 'and has the added camera')
})

t.test('a reload that cannot be applied is refused with the reason, and every camera runs on', async (t) => {
  const good = configText({ front: camera(30), rear: camera(30) })
  const file = join(t.testdir({ 'heart.yaml': good }), 'heart.yaml')
  const heart = await runHeart({ configFile: file, status: false, logger: silentLogger, durationS: 120 })
  t.teardown(() => heart.stop())
  const captures = heart.cameras.map((c) => c.capture)
  const refused = async (text: string, why: RegExp, what: string): Promise<void> => {
    writeFileSync(file, text)
    const result = await heart.reload()
    t.equal(result.applied, false, `${what}: refused`)
    t.match(result.errors.join('\n'), why, `${what}: the reason is named`)
    t.same(heart.cameras.map((c) => c.capture), captures, `${what}: the running cameras are kept`)
  }
  await refused(configText({ front: camera(30), rear: '{ source: "testsrc://?size=160x120", pixfmt: gray }' }), /cameras\.rear\.pixfmt.*did you mean "pixFmt"/, 'a misspelt key')
  await refused('http: { port: 0 }\nthermal: { enabled: false }\nsource: "testsrc://?size=160x120"\n', /one/, 'several cameras to one')
  await refused(configText({ front: camera(30), rear: '{ source: "testsrc://?size=160x120", expect: { maxSize: 100000x100000 } }' }), /maxSize|would take|slots/, 'rings too large for the machine')

  // A change outside the cameras applies at the next start; the cameras' part applies now.
  writeFileSync(file, configText({ front: camera(30), rear: camera(30) }, 'loop: { warnGapMs: 500 }'))
  const result = await heart.reload()
  t.equal(result.applied, true, 'a reload with a changed loop section is applied')
  t.same(result.needsRestart, ['loop'], 'and names the section that waits for a restart')
  t.same(result.unchanged, ['front', 'rear'], 'no camera was touched')
})

t.test('a reload that changes only a camera\'s consumers restarts just those; its capture and other consumers run on', async (t) => {
  const consumers = (motion: string): string => `[{ name: movement_detector, kind: motion${motion} }, { name: check, kind: verify, depth: 30 }]`
  const entry = (motion: string): string => `{ source: "testsrc://?size=160x120&fps=30", expect: { maxSize: 160x120 }, consumers: ${consumers(motion)} }`
  const file = join(t.testdir({ 'heart.yaml': configText({ front: camera(30), rear: entry('') }) }), 'heart.yaml')
  const heart = await runHeart({ configFile: file, status: false, logger: silentLogger, durationS: 120 })
  t.teardown(() => heart.stop())
  const rear = (): NonNullable<HealthReport['cameras']>[string] => heart.report().cameras!.rear!
  await waitFor(() => (rear().consumers.check?.delivered ?? 0) >= 30 && (rear().consumers.movement_detector?.delivered ?? 0) >= 30, 'rear streaming to both consumers', () => rear().consumers)
  const capture = heart.cameras.find((c) => c.name === 'rear')!.capture
  const threadOf = (service: string): number | null => heart.kernel.supervisor.statuses().find((w) => w.name === service)?.tid ?? null
  const detectorThread = threadOf('rear.movement_detector')
  const checkThread = threadOf('rear.check')
  const checkBefore = rear().consumers.check!
  const publishedBefore = Number(capture.ring.published())

  writeFileSync(file, configText({ front: camera(30), rear: entry(', fpsCap: 5') }))
  const result = await heart.reload()
  t.same({ reconfigured: result.reconfigured, restarted: result.restarted, unchanged: result.unchanged }, { reconfigured: [{ camera: 'rear', consumers: ['movement_detector'] }], restarted: [], unchanged: ['front'] }, 'only rear\'s changed consumer is restarted')
  t.equal(heart.cameras.find((c) => c.name === 'rear')!.capture, capture, 'rear keeps its capture')
  t.not(threadOf('rear.movement_detector'), detectorThread, 'the changed consumer runs on a new thread')
  t.equal(threadOf('rear.check'), checkThread, 'the unchanged consumer is the same thread')

  // The new options apply: fpsCap 5 skips most of the 30 fps as rate_limited.
  await waitFor(() => (rear().consumers.movement_detector?.skipped.rate_limited ?? 0) >= 30, 'the new fpsCap skipping frames', () => rear().consumers.movement_detector)
  const check = rear().consumers.check!
  const published = Number(capture.ring.published()) - publishedBefore
  const lost = (books: typeof check): number => Object.values(books.dropped).reduce((a, b) => a + b, 0)
  t.equal(lost(check) - lost(checkBefore), 0, 'the unchanged consumer lost no frame')
  t.ok(published - (check.delivered - checkBefore.delivered) <= 30, `and got every frame published meanwhile but those queued (${published} published, ${check.delivered - checkBefore.delivered} delivered)`)

  // A consumer the camera did not start with needs a new ring place and series: the camera restarts instead.
  writeFileSync(file, configText({ front: camera(30), rear: `{ source: "testsrc://?size=160x120&fps=30", expect: { maxSize: 160x120 }, consumers: [{ name: other, kind: verify }] }` }))
  const again = await heart.reload()
  t.same({ reconfigured: again.reconfigured, restarted: again.restarted }, { reconfigured: [], restarted: ['rear'] }, 'a new consumer name restarts the camera')
})
