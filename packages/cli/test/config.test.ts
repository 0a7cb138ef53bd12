import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cameraPlans, defaultConsumers, loadCheckedConfig, loadHeartConfig } from '../src/config.js'
import { checkConsumers, consumerKinds } from '../src/consumer-kinds.js'

t.test('no file: the built-in test camera and the three standard consumers', async (t) => {
  const config = loadHeartConfig(undefined)
  t.match(config.source, /^testsrc:\/\//)
  t.same(config.consumers.map((c) => [c.name, c.kind]), [['movement_detector', 'motion'], ['detection_client', 'detection'], ['telemetry_stream', 'encoder']])
  t.match(config.http, { host: '127.0.0.1', port: 8080, token: undefined, auth: undefined, tls: undefined, allowedHosts: [] })
  t.match(config.http.limits, { maxConnections: 256, maxMjpegViewers: 16, maxSseClients: 32, maxIdleConnections: 64, maxBodyBytes: 65536 })
})

t.test('command-line overrides beat the file; an explicit empty consumer list is honoured', async (t) => {
  const dir = t.testdir({ 'heart.yaml': 'source: synthetic://\nhttp: { port: 9000 }\nconsumers: []\nthermal: { hz: 10 }\n' })
  const config = loadHeartConfig(join(dir, 'heart.yaml'), { source: 'testsrc://', http: { host: '0.0.0.0', port: 1234 } })
  t.equal(config.source, 'testsrc://')
  t.match(config.http, { host: '0.0.0.0', port: 1234 })
  t.same(config.consumers, [])
  t.same(config.thermal, { hz: 10 })
})

t.test('a config typo names the field and the allowed values', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, 'sources: rtsp://cam\nloop: { periodMs: 0 }\nconsumers:\n  - { name: Motion, kind: verify }\n')
  t.throws(() => loadHeartConfig(file), {
    code: 'CONFIG_INVALID',
    message: /sources: unknown setting \(did you mean "source"\?\)[^]*loop\.periodMs: 0 is out of range[^]*consumers\[0\]\.name: got "Motion"/,
  })
  writeFileSync(file, 'camera: 5\n')
  t.throws(() => loadHeartConfig(file), { message: /camera: got 5, expected an object/ })
})

// One validator for the whole file: a typo in every section is named in one pass, in heart's wording.
t.test('a typo in every section is named, all in one report', async (t) => {
  const dir = t.testdir({
    'heart.yaml': [
      'sorce: testsrc://',
      'camera: { pixfmt: nv12, decodr: cuda, expect: { maxsize: 640x360 } }',
      'thermal: { hzz: 4 }',
      'telemetry: { enable: true, traces: { sampleEvery: 0 } }',
      'consumers:',
      '  - { name: live, kind: encoder, options: { fsp: 10 } }',
      '  - { name: motion, kind: motion, options: { detector: { treshold: 20 } } }',
      '  - { name: det, kind: detection, options: { deepstack: { url: "http://127.0.0.1:1", maxwidth: 320 } } }',
      '  - { name: check, kind: verify, options: { reportEvery: 5 } }',
      '',
    ].join('\n'),
  })
  let message = ''
  try {
    loadHeartConfig(join(dir, 'heart.yaml'))
    t.fail('should throw')
  } catch (error) {
    t.equal((error as { code?: string }).code, 'CONFIG_INVALID')
    message = (error as Error).message
  }
  for (const line of [
    'sorce: unknown setting (did you mean "source"?)',
    'camera.pixfmt: unknown setting (did you mean "pixFmt"?)',
    'camera.decodr: unknown setting (did you mean "decoder"?)',
    'camera.expect.maxsize: unknown setting (did you mean "maxSize"?)',
    'thermal.hzz: unknown setting (did you mean "hz"?)',
    'telemetry.enable: unknown setting (did you mean "enabled"?)',
    'telemetry.traces.sampleEvery: got 0, expected a whole number from 1 to 1000000',
    'consumers[0].options.fsp: unknown setting (did you mean "fps"?)',
    'consumers[1].options.detector.treshold: unknown setting (did you mean "threshold"?)',
    'consumers[2].options.deepstack.maxwidth: unknown setting (did you mean "maxWidth"?)',
    'consumers[3].options.reportEvery: unknown setting (did you mean "reportEveryMs"?)',
  ]) {
    t.ok(message.includes(`  - ${line}`), line)
  }
})

t.test('values inside a section and inside a kind\'s options are checked in the same pass', async (t) => {
  const dir = t.testdir({
    'heart.yaml': [
      'camera: { pixFmt: yuv444p, stallTimeoutMs: 0, expect: { maxSize: 1x1 } }',
      'thermal: { hz: 99, address: 200 }',
      'telemetry: { otlp: { endpoint: "collector:4318" } }',
      'consumers:',
      '  - { name: live, kind: encoder, options: { quality: 0 } }',
      '  - { name: motion, kind: motion, options: { scaler: gpu, inputWidth: 3 } }',
      '',
    ].join('\n'),
  })
  t.throws(() => loadHeartConfig(join(dir, 'heart.yaml')), {
    code: 'CONFIG_INVALID',
    message:
      /^(?=[^]*camera\.pixFmt: got "yuv444p", allowed: yuv420p)(?=[^]*camera\.stallTimeoutMs: got 0)(?=[^]*camera\.expect\.maxSize: got "1x1")(?=[^]*thermal\.hz: got 99)(?=[^]*thermal\.address: got 200, expected a 7-bit address)(?=[^]*telemetry\.otlp\.endpoint: got collector:\/\/)(?=[^]*consumers\[0\]\.options: quality = 0 is not valid)(?=[^]*consumers\[1\]\.options\.scaler: unknown setting)(?=[^]*consumers\[1\]\.options\.inputWidth: got 3)/,
  })
})

t.test('a kind that is not a kind is named, including Object\'s own property names', async (t) => {
  const dir = t.testdir({
    'heart.yaml': ['consumers:', '  - { name: a, kind: __proto__ }', '  - { name: b, kind: constructor }', '  - { name: c, kind: toString }', '  - { name: d, kind: motoin }', ''].join('\n'),
  })
  // The allowed list is the registry's, in its order: a new kind joins it without this test changing.
  const allowed = Object.keys(consumerKinds).join(' | ').replace(/\|/g, '\\|')
  t.throws(() => loadHeartConfig(join(dir, 'heart.yaml')), {
    code: 'CONFIG_INVALID',
    message: new RegExp(`consumers\\[0\\]\\.kind: got "__proto__", allowed: ${allowed}[^]*`),
  })
  t.throws(() => loadHeartConfig(join(dir, 'heart.yaml')), {
    code: 'CONFIG_INVALID',
    message:
      /consumers\[1\]\.kind: got "constructor", allowed:[^]*consumers\[2\]\.kind: got "toString", allowed:[^]*consumers\[3\]\.kind: got "motoin", allowed: .* \(did you mean "motion"\?\)/,
  })
})

t.test('module: only kind module takes a module, and it needs one', async (t) => {
  const dir = t.testdir({ 'heart.yaml': ['consumers:', '  - { name: a, kind: module }', '  - { name: b, kind: verify, module: ./x.mjs }', ''].join('\n') })
  t.throws(() => loadHeartConfig(join(dir, 'heart.yaml')), {
    message: /consumers\[0\]\.module: got nothing, expected a path to an ES module[^]*consumers\[1\]\.module: got "\.\/x\.mjs", but only kind: module takes a module/,
  })
})

t.test('scalar YAML is a named config error', async (t) => {
  const dir = t.testdir({ 'heart.yaml': '42\n', 'list.yaml': '- a\n' })
  t.throws(() => loadHeartConfig(join(dir, 'heart.yaml')), { code: 'CONFIG_INVALID', message: /\(top level\): the file holds a number, expected a mapping of settings/ })
  t.throws(() => loadHeartConfig(join(dir, 'list.yaml')), { code: 'CONFIG_INVALID', message: /the file holds a list/ })
})

t.test('consumers: [] and all-disabled consumers are valid; defaults are the three standard consumers, checked', async (t) => {
  const dir = t.testdir({
    'none.yaml': 'consumers: []\n',
    'off.yaml': ['consumers:', '  - { name: a, kind: motion, enabled: false }', '  - { name: b, kind: encoder, enabled: false, options: { fps: 5 } }', ''].join('\n'),
  })
  t.same(loadHeartConfig(join(dir, 'none.yaml')).consumers, [])
  t.same(loadHeartConfig(join(dir, 'off.yaml')).consumers.map((c) => c.enabled), [false, false])
  const defaults = loadHeartConfig(undefined).consumers
  t.match(defaults[1], { kind: 'detection', options: { protocol: 'deepstack', deepstack: { url: 'http://127.0.0.1:32168' } } }, 'default options went through the kind schema')
  t.same(defaults.map((c) => c.name), defaultConsumers().map((c) => c.name))
})

t.test('consumer checks before start: names, one encoder, the module file and its default export', async (t) => {
  const dir = t.testdir({
    'not-fn.mjs': 'export default 42\n',
    'no-default.mjs': 'export const setup = () => ({ onFrame() {} })\n',
    'ok.mjs': 'export default () => ({ onFrame() {} })\n',
  })
  const entry = (name: string, kind: string, extra: Record<string, unknown> = {}) => ({ name, kind, enabled: true, depth: undefined, fpsCap: undefined, skipAiLocked: undefined, module: undefined, options: {}, ...extra })
  const problems = await checkConsumers(
    [
      entry('a', 'verify'),
      entry('a', 'verify'),
      entry('live', 'encoder'),
      entry('live2', 'encoder', { fpsCap: 5 }),
      entry('m1', 'module', { module: 'missing.mjs' }),
      entry('m2', 'module', { module: 'not-fn.mjs' }),
      entry('m3', 'module', { module: './no-default.mjs' }),
      entry('m4', 'module', { module: join(dir, 'ok.mjs') }),
      entry('m5', 'module', { module: 'ok.mjs' }),
      entry('off', 'module', { module: 'missing.mjs', enabled: false }),
    ],
    dir,
  )
  t.match(problems, [
    /^consumers\[1\]\.name: "a" is used twice \(also consumers\[0\]\)/,
    /^consumers\[3\]\.kind: at most one encoder/,
    /^consumers\[3\]\.fpsCap: got 5, but an encoder takes its rate from options\.fps/,
    /^consumers\[4\]\.module: no file at "missing\.mjs" \(looked for .*missing\.mjs, relative to the config file's folder\)/,
    /^consumers\[5\]\.module: .*not-fn\.mjs has a default export that is number, expected a function/,
    /^consumers\[6\]\.module: .*no-default\.mjs has no default export, expected a function/,
  ])
  t.equal(problems.length, 6, 'the good modules and the disabled entry pass')
})

t.test('the verify kind checks its own option', async (t) => {
  const dir = t.testdir({
    'bad.yaml': ['consumers:', '  - { name: a, kind: verify, options: { reportEveryMs: "soon" } }', '  - { name: b, kind: verify, options: { reportEveryMs: -5 } }', ''].join('\n'),
    'good.yaml': ['consumers:', '  - { name: a, kind: verify, options: { reportEveryMs: 250 } }', ''].join('\n'),
  })
  t.throws(() => loadHeartConfig(join(dir, 'bad.yaml')), {
    code: 'CONFIG_INVALID',
    message: /(?=[^]*consumers\[0\]\.options\.reportEveryMs: got "soon", expected a positive number of milliseconds)(?=[^]*consumers\[1\]\.options\.reportEveryMs: -5 is out of range)/,
  })
  t.match(loadHeartConfig(join(dir, 'good.yaml')).consumers[0], { kind: 'verify', options: { reportEveryMs: 250 } })
})

t.test('cameras: each camera with its defaults from the top-level sections, in the order written', async (t) => {
  const dir = t.testdir({
    'heart.yaml': [
      'camera: { decoder: software, reconnect: { initialMs: 100 } }',
      'consumers: [{ name: movement_detector, kind: motion }]',
      'record: { enabled: true, preSeconds: 3 }',
      'cameras:',
      '  front: { source: "testsrc://?size=640x360&fps=30", pixFmt: nv12 }',
      '  rear:',
      '    source: "rtsp://user:secret@10.0.0.2/cam"',
      '    decoder: auto',
      '    consumers: [{ name: encoder, kind: encoder }]',
      '    record: { enabled: false }',
      '  spare: { source: "testsrc://", enabled: false }',
    ].join('\n'),
  })
  const plans = cameraPlans(loadHeartConfig(join(dir, 'heart.yaml')))
  t.same(plans.map((p) => [p.name, p.enabled, p.path]), [['front', true, 'cameras.front'], ['rear', true, 'cameras.rear'], ['spare', false, 'cameras.spare']])
  const [front, rear] = plans
  t.match(front!.options, { decoder: 'software', pixFmt: 'nv12', reconnect: { initialMs: 100 } }, 'camera: is every camera\'s default, the camera\'s own keys win')
  t.equal(rear!.options.decoder, 'auto')
  t.same(front!.consumers.map((c) => c.name), ['movement_detector'], 'top-level consumers for a camera without its own')
  t.same(rear!.consumers.map((c) => c.name), ['encoder'], 'a camera\'s own consumers replace them')
  t.match(front!.record, { enabled: true, preSeconds: 3 })
  t.equal(rear!.record.enabled, false)
})

t.test('source: is the shorthand for one camera named main', async (t) => {
  const plans = cameraPlans(loadHeartConfig(undefined, { source: 'synthetic://' }))
  t.same(plans.map((p) => [p.name, p.source, p.path]), [['main', 'synthetic://', '']])
})

t.test('camera mistakes name the camera, the field, what was found and what is allowed', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'bad.yaml')
  const problems = (text: string): string => {
    writeFileSync(file, text)
    try {
      loadHeartConfig(file)
    } catch (error) {
      t.equal((error as { code?: string }).code, 'CONFIG_INVALID')
      return (error as Error).message
    }
    return 'no error'
  }
  const several = problems('cameras:\n  front: { source: "ftp://x" }\n  rear: { pixfmt: nv12 }\n')
  t.match(several, /cameras\.front\.source: unknown scheme "ftp:\/\/"/)
  t.match(several, /cameras\.rear\.source: got nothing, expected a source URL/)
  t.match(several, /cameras\.rear\.pixfmt: unknown setting \(did you mean "pixFmt"\?\)/)
  t.match(problems('cameras:\n  Front: { source: "testsrc://" }\n'), /cameras\.Front: camera name "Front" is not allowed, expected lower-case letters, digits and _/)
  t.match(problems('cameras: {}\n'), /cameras: no camera, expected at least one NAME: \{ source: URL \} entry/)
  t.match(problems('source: "testsrc://"\ncameras:\n  front: { source: "testsrc://" }\n'), /source: given beside cameras:, expected one of them/)
  t.match(problems('cameras:\n  front: { source: "testsrc://", consumers: [{ name: m, kind: motoin }] }\n'), /cameras\.front\.consumers\[0\]\.kind: /)
  writeFileSync(file, 'cameras:\n  front: { source: "testsrc://" }\n')
  t.throws(() => loadHeartConfig(file, { source: 'testsrc://' }), { message: /--source: "testsrc:\/\/" given, but the config names its cameras/ })
})

t.test('camera.output and fpsCap: every mistake named where it is written', async (t) => {
  const file = join(t.testdir({}), 'heart.yaml')
  const problems = (yaml: string): string => {
    writeFileSync(file, yaml)
    try {
      loadHeartConfig(file)
      return ''
    } catch (error) {
      return (error as Error).message
    }
  }
  t.equal(problems('camera: { output: { width: 640, height: 360, crop: { x: 8, y: 8, width: 1280, height: 720 } }, fpsCap: 15 }\n'), '', 'a crop, a size and a rate cap are accepted')
  t.match(problems('camera: { output: { width: 640 } }\n'), /camera\.output\.height: missing: give output\.width and output\.height together/)
  t.match(problems('camera: { output: { width: 641, height: 360 } }\n'), /camera\.output\.width: got 641, expected an even integer from 16 to 8192/)
  t.match(problems('camera: { output: { crop: { x: 1, width: 320, height: 240 } } }\n'), /camera\.output\.crop\.x: got 1, expected an even integer/)
  t.match(problems('camera: { output: { crop: { x: 1800, width: 320, height: 240 } } }\n'), /camera\.output\.crop: 320x240 at 1800,0 reaches outside expect\.maxSize 1920x1080; keep x \+ width <= 1920/)
  t.match(problems('camera: { output: { crop: { width: 320 } } }\n'), /camera\.output\.crop\.height: /)
  t.match(problems('camera: { fpsCap: 0 }\n'), /camera\.fpsCap: got 0, expected frames per second above 0 and at most 1000/)
  t.match(problems('camera: { fpsCap: 0.4 }\n'), /camera\.fpsCap: 0\.4 fps leaves 2500 ms between frames, not below stallTimeoutMs \(2000\); raise fpsCap or stallTimeoutMs/)
  t.match(problems('cameras:\n  front: { source: "testsrc://", output: { width: 320 } }\n'), /cameras\.front\.output\.height: missing/)
  t.match(problems('cameras:\n  front: { source: "testsrc://", fpsCap: 0.2, stallTimeoutMs: 10000 }\n'), /cameras\.front\.fpsCap: 0\.2 fps leaves 5000 ms between frames, not below redAfterMs \(3000\)/)
})

t.test('a camera\'s consumer list is checked with its camera in the path', async (t) => {
  const dir = t.testdir({ 'heart.yaml': 'cameras:\n  front:\n    source: "testsrc://"\n    consumers: [{ name: a, kind: verify }, { name: a, kind: verify }]\n' })
  await t.rejects(loadCheckedConfig(join(dir, 'heart.yaml')), { message: /cameras\.front\.consumers\[1\]\.name: "a" is used twice \(also cameras\.front\.consumers\[0\]\)/ })
})
