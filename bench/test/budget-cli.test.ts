import t from 'tap'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { budgetMain, parseBudgetArgs, parseCameraSpec } from '../src/budget-cli.js'

t.test('--cameras N gives N identical cameras of the other flags', async (t) => {
  const { rig } = parseBudgetArgs(['--cameras', '3', '--fps', '30', '--depth', '4', '--mem-bw', '5000'])
  t.same(rig!.cameras.map((c) => c.name), ['cam1', 'cam2', 'cam3'])
  for (const camera of rig!.cameras) t.match(camera, { fps: 30, depth: 4, motion: true })
  t.equal((rig!.cameras[0] as Record<string, unknown>).memBandwidthMBs, undefined, 'bandwidth is the rig\'s, not a camera\'s')
  t.same(rig!.options, { memBandwidthMBs: 5000 })
})

t.test('--camera lists a mixed rig; the other flags are each camera\'s defaults', async (t) => {
  const { rig } = parseBudgetArgs(['--camera', 'front:1920x1080@30:h264', '--camera=rear:1280x720@25', '--codec', 'hevc', '--record', '--no-motion', '--cores', '4'])
  t.same(rig!.cameras, [
    { codec: 'h264', motion: false, name: 'front', width: 1920, height: 1080, fps: 30 },
    { codec: 'hevc', motion: false, name: 'rear', width: 1280, height: 720, fps: 25 },
  ])
  t.same(rig!.options, { record: true, cores: 4 })
  t.same(parseCameraSpec('nav_2:640x480@7.5'), { name: 'nav_2', width: 640, height: 480, fps: 7.5 })
})

t.test('without a rig flag heart budget is the one-camera budget it was', async (t) => {
  t.equal(parseBudgetArgs(['--fps', '30']).rig, undefined)
  t.same(parseBudgetArgs(['--record']).rig!.cameras.map((c) => c.name), ['main'], '--record alone: one camera named main')
})

t.test('each usage mistake is named: the flag, what was found, what is allowed', async (t) => {
  t.throws(() => parseBudgetArgs(['--cameras', '0']), /--cameras must be a whole number from 1 to 64, got "0"/)
  t.throws(() => parseBudgetArgs(['--cameras', '2.5']), /--cameras must be a whole number from 1 to 64, got "2.5"/)
  t.throws(() => parseBudgetArgs(['--cameras']), /--cameras needs a value/)
  t.throws(() => parseBudgetArgs(['--cores', 'many']), /--cores must be a whole number from 1 to 1024, got "many"/)
  t.throws(() => parseBudgetArgs(['--camera', 'front']), /--camera must look like NAME:WxH@FPS\[:CODEC\] \(front:1920x1080@30:h264\), got "front"/)
  t.throws(() => parseBudgetArgs(['--camera', 'front:1920x1080']), /--camera must look like NAME:WxH@FPS/)
  t.throws(() => parseBudgetArgs(['--camera', 'Front:1920x1080@30']), /--camera "Front:1920x1080@30": the name "Front" may have only lower-case letters, digits and _/)
  t.throws(() => parseBudgetArgs(['--camera', ':1920x1080@30']), /the name "" may have only/)
  t.throws(() => parseBudgetArgs(['--camera', 'a:1920x1080@fast']), /--camera "a:1920x1080@fast": the rate "fast" must be a positive number/)
  t.throws(() => parseBudgetArgs(['--camera', 'a:1920x1080@0']), /the rate "0" must be a positive number/)
  t.throws(() => parseBudgetArgs(['--camera', 'a:0x1080@30']), /the size 0x1080 must be above 0/)
  t.throws(() => parseBudgetArgs(['--camera', 'a:1920x1080@30:av1']), /--camera "a:1920x1080@30:av1": the codec "av1" is not one of h264, hevc, mjpeg, raw/)
  t.throws(() => parseBudgetArgs(['--camera', 'a:1920x1080@30', '--camera', 'a:1280x720@30']), /--camera: the name "a" is given twice/)
  t.throws(() => parseBudgetArgs(['--cameras', '2', '--camera', 'a:1920x1080@30']), /--cameras N gives N identical cameras and --camera lists them one by one: use one of the two/)
  t.throws(() => parseBudgetArgs(['--camera', 'a:1920x1080@30', '--size', '1280x720']), /--size has no effect with --camera .*: drop --size/)
  t.throws(() => parseBudgetArgs(['--camera', 'a:1920x1080@30', '--fps', '30']), /--fps has no effect with --camera/)
  t.throws(() => parseBudgetArgs(['--standard', '--cameras', '4']), /--standard tabulates one camera per standard configuration and takes no rig flags \(got --cameras\)/)
  t.throws(() => parseBudgetArgs(['--xlsx']), /--xlsx needs a value/)
})

t.test('a usage mistake exits 2 with the message and no stack', async (t) => {
  const written: string[] = []
  const original = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((s: string) => written.push(s) > 0) as unknown as typeof process.stderr.write
  try {
    t.equal(await budgetMain(['--camera', 'front:1920x1080@30:av1'], () => {}), 2)
    t.equal(await budgetMain(['--cameras', '2', '--format', 'yuv444p'], () => {}), 2, 'a camera config computeBudget refuses')
  } finally {
    process.stderr.write = original
  }
  t.match(written[0], /^heart budget: --camera "front:1920x1080@30:av1": the codec "av1"/)
  t.match(written[1], /^heart budget: camera "cam1": unknown pixel format "yuv444p"/)
  t.notMatch(written.join(''), /\n\s+at /, 'no stack trace')
})

t.test('text and --json for a rig', async (t) => {
  let text = ''
  t.equal(await budgetMain(['--cameras', '4', '--fps', '30'], (s) => (text += s)), 0)
  t.match(text, /^cam4 +1920x1080@30 +h264/m)
  t.match(text, /^total +4 cameras/m)
  let json = ''
  t.equal(await budgetMain(['--camera', 'front:1920x1080@30', '--camera', 'rear:1280x720@30', '--record', '--cores', '2', '--json'], (s) => (json += s)), 0)
  const parsed = JSON.parse(json)
  t.same(parsed.cameras.map((c: { name: string }) => c.name), ['front', 'rear'])
  t.equal(parsed.totals.cameras, 2)
  t.equal(parsed.totals.cores_available, 2)
  t.ok(parsed.totals.storage_gb_per_h > 0, 'recording counts storage')
})

t.test('--xlsx writes the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'heart-budget-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'rig.xlsx')
  let out = ''
  t.equal(await budgetMain(['--cameras', '2', '--xlsx', file], (s) => (out += s)), 0)
  t.equal(out, `wrote ${file}\n`)
  t.ok((await stat(file)).size > 1000)
})
