import t from 'tap'
import { spawnSync } from 'node:child_process'
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
  t.match(unknown.err, /unknown scope "nope"; use ring, decode, telemetry, soak, backpressure, budget/)
})

t.test('budget keeps its own options', async (t) => {
  const r = bench('budget', '--size', '1280x720', '--json')
  t.equal(r.code, 0)
  t.equal(JSON.parse(r.out).config.width, 1280)
})
