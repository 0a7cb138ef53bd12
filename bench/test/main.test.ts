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
  t.match(unknown.err, /unknown scope "nope"; use ring, decode, telemetry, soak, soak-report, backpressure, budget/)
})

t.test('budget keeps its own options', async (t) => {
  const r = bench('budget', '--size', '1280x720', '--json')
  t.equal(r.code, 0)
  t.equal(JSON.parse(r.out).config.width, 1280)
})

t.test('without a scope the usage lists every scope and exits 2; --help exits 0', async (t) => {
  const none = bench()
  t.equal(none.code, 2)
  t.match(none.out, /SCOPE is one of ring, decode, telemetry, soak, soak-report, backpressure, budget/)
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
