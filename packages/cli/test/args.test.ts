import t from 'tap'
import { helpText, parseArgs, parseHostPort, parsePositiveNumber } from '../src/args.js'

const spec = { source: { value: true, help: 'camera URL' }, json: { value: false, help: 'print JSON' } }

t.test('flags with values, switches and positionals', async (t) => {
  t.same(parseArgs(['--source', 'rtsp://x', 'extra', '--json'], spec, 'run'), { flags: { source: 'rtsp://x', json: true }, positionals: ['extra'] })
  t.same(parseArgs(['--source=synthetic://?fps=30'], spec, 'run').flags, { source: 'synthetic://?fps=30' })
})

t.test('typos and missing values are usage errors with a hint', async (t) => {
  t.throws(() => parseArgs(['--sorce', 'x'], spec, 'run'), { code: 'USAGE', message: /unknown option --sorce \(did you mean --source\?\)/ })
  t.throws(() => parseArgs(['--source'], spec, 'run'), { message: /--source needs a value \(camera URL\)/ })
  t.throws(() => parseArgs(['--source', '--json'], spec, 'run'), { message: /needs a value/ })
  t.throws(() => parseArgs(['--json=1'], spec, 'run'), { message: /--json takes no value/ })
  t.match(helpText('run', '[options]', spec), /usage: heart run \[options\]\n\n {2}--source VALUE +camera URL\n {2}--json +print JSON/)
})

t.test('host:port and numbers', async (t) => {
  t.same(parseHostPort('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 })
  t.same(parseHostPort('8081'), { host: '127.0.0.1', port: 8081 })
  t.same(parseHostPort('[::1]:80'), { host: '::1', port: 80 })
  t.throws(() => parseHostPort('localhost'), { message: /not HOST:PORT/ })
  t.throws(() => parseHostPort('x:70000'), { message: /not HOST:PORT/ })
  t.equal(parsePositiveNumber('duration', '2.5'), 2.5)
  t.throws(() => parsePositiveNumber('duration', '-1'), { message: /--duration: "-1" is not a positive number/ })
})
