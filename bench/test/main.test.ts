import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The compiled entry beside this compiled test: dist/test/ -> dist/src/main.js.
const entry = fileURLToPath(new URL('../src/main.js', import.meta.url))

function bench(...args: string[]) {
  const r = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', timeout: 20_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

t.test('--help prints the scope options and runs nothing', async (t) => {
  const r = bench('soak', '--help')
  t.equal(r.code, 0)
  t.match(r.out, /usage: heart bench soak/)
  t.match(r.out, /--duration VALUE/)
  t.match(r.out, /--faults VALUE/)
  t.notMatch(r.out, /soak: t=/, 'no soak started')
})

t.test('a misspelt flag is refused with a suggestion instead of running the default', async (t) => {
  const r = bench('soak', '--durration', '5')
  t.equal(r.code, 2)
  t.match(r.err, /unknown option --durration \(did you mean --duration\?\)/)
  t.equal(r.out, '', 'nothing ran')
})

t.test('bad values name the flag and what is allowed', async (t) => {
  t.match(bench('soak', '--faults', 'camera_restart,bogus').err, /--faults: unknown fault "bogus"; use none or any of camera_restart/)
  t.match(bench('soak', '--duration', '-3').err, /--duration: "-3" is not a positive number/)
  t.match(bench('backpressure', '--seconds').err, /--seconds needs a value/)
  t.match(bench('ring', 'extra').err, /unexpected argument "extra"/)
  const unknown = bench('nope')
  t.equal(unknown.code, 2)
  t.match(unknown.err, /unknown scope "nope"; use ring, decode, telemetry, soak, soak-report, cpu, record, backpressure, live, pool, budget/)
})

t.test('cpu: --help lists its options; sources the FFmpeg CLI side cannot decode are refused before anything runs', async (t) => {
  const help = bench('cpu', '--help')
  t.equal(help.code, 0)
  for (const flag of ['--rounds VALUE', '--seconds VALUE', '--warmup VALUE', '--source VALUE', '--noisy', '--json VALUE']) t.match(help.out, flag)
  t.notMatch(help.out, /round 1/, 'nothing measured')
  const cases: Array<[string[], RegExp]> = [
    [['--source', 'synthetic://?size=640x480'], /--source synthetic: the FFmpeg CLI side cannot decode it; use testsrc:\/\/, file:\/\/\/path or rtsp:\/\//],
    [['--source', 'file:///nonexistent/clip.mp4'], /--source: \/nonexistent\/clip.mp4 does not exist/],
    [['--source', 'testsrc://', '--noisy'], /give --source or --noisy, not both/],
    [['--rounds', '0'], /--rounds: "0" is not a positive number/],
    [['--sconds', '3'], /unknown option --sconds \(did you mean --seconds\?\)/],
    [['--noisy', 'yes'], /unexpected argument "yes"/],
  ]
  for (const [args, message] of cases) {
    const r = bench('cpu', ...args)
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
    t.match(r.err, message, args.join(' '))
    t.notMatch(r.err, /\n\s+at /, 'no stack trace')
    t.equal(r.out, '', 'nothing ran')
  }
})

t.test('decode --source takes a file and names what it got otherwise', async (t) => {
  t.match(bench('decode', '--help').out, /--source VALUE/)
  const camera = bench('decode', '--source', 'rtsp://camera.local/stream')
  t.equal(camera.code, 2)
  t.match(camera.err, /--source: "rtsp:\/\/camera.local\/stream" is not a file; give file:\/\/\/path\/to\/clip.mp4 \(or a path\)/)
  const absent = bench('decode', '--source', '/nonexistent/clip.mp4')
  t.equal(absent.code, 2)
  t.match(absent.err, /--source: \/nonexistent\/clip.mp4 does not exist/)
})

t.test('budget keeps its own options', async (t) => {
  const r = bench('budget', '--size', '1280x720', '--json')
  t.equal(r.code, 0)
  t.equal(JSON.parse(r.out).config.width, 1280)
})

t.test('without a scope the usage lists every scope and exits 2; --help exits 0', async (t) => {
  const none = bench()
  t.equal(none.code, 2)
  t.match(none.out, /SCOPE is one of ring, decode, telemetry, soak, soak-report, cpu, record, backpressure, live, pool, budget/)
  t.equal(bench('--help').code, 0)
})

t.test('soak-report needs --from and a soak JSON, and names what it got', async (t) => {
  const missing = bench('soak-report')
  t.equal(missing.code, 2)
  t.match(missing.err, /--from FILE.json is required/)
  const absent = bench('soak-report', '--from', '/nonexistent/soak.json')
  t.equal(absent.code, 2)
  t.match(absent.err, /--from \/nonexistent\/soak.json: ENOENT/)
  t.notMatch(absent.err, /\n\s+at /, 'no stack trace')
})

t.test('soak-report draws the committed soak JSON again: every chart and the target table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heart-soak-report-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const from = fileURLToPath(new URL('../../results/soak-1080p60-30min-nofaults.json', import.meta.url))
  const html = join(dir, 'report.html')
  const r = bench('soak-report', '--from', from, '--html', html)
  t.equal(r.code, 0, r.err)
  const page = readFileSync(html, 'utf8')
  const soak = JSON.parse(readFileSync(from, 'utf8')) as { targets: { name: string }[] }
  for (const title of ['Frames published per second', 'Receive to publish', 'JavaScript heap reserved, per thread']) t.match(page, title)
  t.ok(soak.targets.length > 0)
  for (const target of soak.targets) t.ok(page.includes(target.name), `target ${target.name} is in the table`)
  t.ok((page.match(/<svg/g) ?? []).length >= 5, 'the charts are drawn')
})
