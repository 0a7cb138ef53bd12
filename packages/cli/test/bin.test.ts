// The heart binary as an operator runs it: a separate process, its exit code
// and what it prints. Every usage or config mistake exits 2 with a named
// problem and no stack trace, before anything starts.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'

const bin = fileURLToPath(new URL('../src/bin.js', import.meta.url))

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

function heart(args: string[], timeoutMs = 20_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`heart ${args.join(' ')} did not exit within ${timeoutMs} ms`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** A stack frame line, as Node prints them ("    at fn (file:line:col)"). */
const STACK_FRAME = /^\s+at .+[:(]/m

function configFile(t: Test, name: string, text: string | Buffer): string {
  const dir = t.testdir({})
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

const mistakes: { what: string; args: (t: Test) => string[]; says: RegExp }[] = [
  { what: 'an unknown flag', args: () => ['run', '--sorce', 'testsrc://'], says: /--sorce/ },
  { what: 'an unknown command', args: () => ['rnu'], says: /unknown command "rnu"/ },
  { what: 'a typo in the config', args: (t) => ['run', '--config', configFile(t, 'heart.yaml', 'camera: { pixfmt: nv12 }\n')], says: /camera\.pixfmt: unknown setting \(did you mean "pixFmt"\?\)/ },
  { what: 'a YAML file holding a number', args: (t) => ['run', '--config', configFile(t, 'heart.yaml', '42\n')], says: /the file holds a number, expected a mapping of settings/ },
  { what: 'a YAML file holding null', args: (t) => ['run', '--config', configFile(t, 'heart.yaml', 'null\n')], says: /the file holds null, expected a mapping/ },
  { what: 'a YAML file holding a string', args: (t) => ['run', '--config', configFile(t, 'heart.yaml', 'hello\n')], says: /the file holds a string, expected a mapping/ },
  { what: '__proto__ as a kind', args: (t) => ['run', '--config', configFile(t, 'heart.yaml', 'consumers:\n  - { name: x, kind: __proto__ }\n')], says: /consumers\[0\]\.kind/ },
  { what: 'a binary file as the config', args: (t) => ['run', '--config', configFile(t, 'heart.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0xff]))], says: /not a text file/ },
  { what: 'a config file that does not exist', args: (t) => ['run', '--config', join(t.testdir({}), 'missing.yaml')], says: /cannot read config file/ },
  { what: 'a source with no scheme', args: () => ['run', '--source', '/dev/video0'], says: /source: "\/dev\/video0" has no scheme/ },
  { what: 'config check of a bad file', args: (t) => ['config', 'check', '--config', configFile(t, 'heart.yaml', 'thermal: { hzz: 4 }\n')], says: /thermal\.hzz: unknown setting/ },
  { what: 'config with no action', args: () => ['config'], says: /heart config needs an action/ },
  {
    what: 'a ring larger than the machine can hold',
    args: (t) => ['run', '--config', configFile(t, 'heart.yaml', 'source: "synthetic://?size=7680x4320&fps=1"\ncamera: { expect: { maxSize: 7680x4320 } }\nring: { spareConsumers: 0 }\nconsumers:\n' + Array.from({ length: 20 }, (_, i) => `  - { name: c${i}, kind: verify, depth: 64 }\n`).join(''))],
    says: /slots of [\d.]+ MB[^]*would take [\d.]+ GB/,
  },
  { what: '--summary into a folder that does not exist', args: (t) => ['run', '--duration', '1', '--summary', join(t.testdir({}), 'no-such-dir', 'summary.json')], says: /summary/ },
  { what: '--summary under a regular file', args: (t) => ['run', '--duration', '1', '--summary', join(configFile(t, 'plain.txt', 'x'), 'summary.json')], says: /summary/ },
]

// A huge value is named but cut short: the message stays a few lines, whatever was pasted.
t.test('a huge source: exit 2 and a short message, in a 50 MB file, a 900 kB one and on --source', async (t) => {
  const source = (n: number): string => 'rtsp://camera.example/' + 'x'.repeat(n)
  const fiftyMb = await heart(['run', '--config', configFile(t, 'heart.yaml', `source: "${source(50 * 1024 * 1024)}"\n`)], 60_000)
  t.match(fiftyMb.stderr, /52428833 bytes is not a config file \(at most 1048576\)/, 'a 50 MB file is refused by its size, before it is parsed')
  const inFile = await heart(['run', '--config', configFile(t, 'heart.yaml', `source: "${source(900 * 1024)}"\n`)])
  // argv strings are capped at 128 kB by Linux, so the flag gets a smaller one.
  const onFlag = await heart(['run', '--source', 'nope' + 'y'.repeat(100 * 1024)])
  t.match(inFile.stderr, /source: .*is 921622 characters long\. A camera URL or file path is at most 4096 characters/, 'a 900 kB value is refused, named by its length, not repeated')
  t.match(onFlag.stderr, /source: .*is 102404 characters long/, 'so is a 100 kB --source')
  for (const [how, ran] of [['50 MB file', fiftyMb], ['900 kB value', inFile], ['--source', onFlag]] as const) {
    t.equal(ran.code, 2, `${how}: exit code 2`)
    t.ok(ran.stderr.length < 2000, `${how}: the message is ${ran.stderr.length} bytes, not the value`)
    t.notMatch(ran.stderr, STACK_FRAME, `${how}: no stack trace`)
  }
})

for (const mistake of mistakes) {
  t.test(`${mistake.what}: exit 2, the problem named, no stack trace`, async (t) => {
    const ran = await heart(mistake.args(t))
    t.equal(ran.code, 2, 'exit code 2')
    t.match(ran.stderr, mistake.says, 'names the problem')
    t.notMatch(ran.stderr, STACK_FRAME, 'no stack trace')
    t.notMatch(ran.stderr, /heart (started|stopped)|capture/i, 'nothing started')
  })
}

t.test('config schema prints the JSON Schema and exits 0', async (t) => {
  const ran = await heart(['config', 'schema'])
  t.equal(ran.code, 0)
  const schema = JSON.parse(ran.stdout) as { $schema: string; properties: Record<string, unknown> }
  t.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema')
  t.ok(schema.properties.consumers && schema.properties.camera && schema.properties.source, 'the sections are there')
})

t.test('config check of a good file says what would run and exits 0', async (t) => {
  const file = configFile(t, 'heart.yaml', 'source: "synthetic://?size=64x48&fps=10"\nconsumers: [{ name: check, kind: verify }]\n')
  const ran = await heart(['config', 'check', '--config', file])
  t.equal(ran.code, 0, ran.stderr)
  t.match(ran.stdout, /valid; source synthetic:\/\/\?size=64x48&fps=10; consumers: check \(verify\)/)
})

t.test('SIGHUP reloads the config file: the changed camera restarts with its new consumers, heart runs on, and SIGTERM still stops it with a summary', async (t) => {
  const dir = t.testdir({})
  const summary = join(dir, 'summary.json')
  const body = (consumers: string): string => `source: "synthetic://?size=64x48&fps=10"\nhttp: { port: 0 }\nthermal: { enabled: false }\nconsumers: ${consumers}\n`
  const config = configFile(t, 'heart.yaml', body('[]'))
  const child = spawn(process.execPath, [bin, 'run', '--config', config, '--summary', summary], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => void child.kill('SIGKILL'))
  const until = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 50))
    if (!cond()) throw new Error(`timed out waiting for ${what}; output: ${output.slice(-2000)}`)
  }
  await until(() => /heart running/i.test(output), 'heart to start')
  // A broken file first: refused with the field named, and the running config kept.
  writeFileSync(config, body('[{ name: check, kind: nosuchkind }]'))
  child.kill('SIGHUP')
  await until(() => /config reload refused/.test(output), 'the refusal')
  t.match(output, /nosuchkind/, 'the refusal names what is wrong')
  writeFileSync(config, body('[{ name: check, kind: verify }]'))
  child.kill('SIGHUP')
  await until(() => /config reloaded/.test(output), 'the reload')
  t.match(output, /"restarted":\["main"\]/, 'the camera whose consumers changed was restarted')
  // The new consumer's worker takes a moment to start: wait until /health shows it receiving frames.
  const url = /"http":"(http:\/\/[^"]+)"/.exec(output)?.[1]
  t.ok(url, 'the start log names the HTTP address')
  const delivered = async (): Promise<number> => {
    const health = (await (await fetch(`${url}/health`)).json()) as { consumers: Record<string, { delivered: number }> }
    return health.consumers.check?.delivered ?? 0
  }
  for (let i = 0; i < 200 && (await delivered()) === 0; i++) await new Promise((r) => setTimeout(r, 50))
  t.ok((await delivered()) > 0, 'the consumer the reload added receives frames')
  t.equal(child.exitCode, null, 'still running after SIGHUP')
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM stops it cleanly')
  const written = JSON.parse(readFileSync(summary, 'utf8')) as { consumers: Record<string, { delivered: number }> }
  t.ok((written.consumers.check?.delivered ?? 0) > 0, 'the summary has the added consumer\'s books')
})

t.test('heart --version prints the package version; a bad log level is a named usage error', async (t) => {
  const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  for (const flag of ['--version', '-V', 'version']) {
    const ran = await heart([flag])
    t.equal(ran.code, 0)
    t.equal(ran.stdout, `heart ${version.version}\n`, flag)
  }
  const bad = await heart(['run', '--log-level', 'loud'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--log-level: got "loud", allowed: trace, debug, info, warn, error, fatal, silent/)
  t.notMatch(bad.stderr, STACK_FRAME)
})

t.test('--log-level warn keeps info lines out; JSON lines when stderr is not a terminal', async (t) => {
  const config = configFile(t, 'heart.yaml', 'source: "synthetic://?size=64x48&fps=10"\nhttp: { port: 0 }\nthermal: { enabled: false }\nconsumers: []\n')
  const quiet = await heart(['run', '--config', config, '--duration', '1', '--log-level', 'warn'])
  t.equal(quiet.code, 0, quiet.stderr)
  t.notMatch(quiet.stderr, /"msg":"heart running"/, 'no info line')
  const normal = await heart(['run', '--config', config, '--duration', '1'])
  const line = normal.stderr.split('\n').find((l) => l.includes('heart running'))
  t.ok(line && JSON.parse(line).level === 'info', 'a JSON line at info')
})
