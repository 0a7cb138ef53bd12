// Entry of the bench harness: `heart bench <scope> [...]` runs this file.
// Every scope's flags are checked like heart's own commands: a typo such as
// --durration is an error with a suggestion, never a silent 10-minute default.
import { helpText, parseArgs, parsePositiveNumber, UsageError, type FlagSpec } from '@heart/cli'
import { FAULT_KINDS, type FaultKind } from './soak-faults.js'

const JSON_FLAG: FlagSpec = { value: true, help: 'write the results as JSON to FILE' }
const HELP_FLAG: FlagSpec = { value: false, help: 'show this help' }

const SCOPES: Record<string, { synopsis: string; flags: Record<string, FlagSpec> }> = {
  ring: { synopsis: '[options]', flags: { frames: { value: true, help: 'frames to publish (default 400)' }, json: JSON_FLAG, help: HELP_FLAG } },
  decode: {
    synopsis: '[options]',
    flags: {
      seconds: { value: true, help: 'length of the test clip in seconds (default 10)' },
      runs: { value: true, help: 'alternating rounds, the median is reported (default 3)' },
      codecs: { value: true, help: 'comma-separated: h264,hevc (default both)' },
      source: { value: true, help: 'decode this file instead of the generated clips (file:///path or a path, up to 1920x1080)' },
      json: JSON_FLAG,
      help: HELP_FLAG,
    },
  },
  telemetry: {
    synopsis: '[options]',
    flags: {
      seconds: { value: true, help: 'length of each run in seconds (default 20)' },
      runs: { value: true, help: 'alternating runs with and without telemetry (default 3)' },
      consumers: { value: true, help: 'consumer workers (default 3)' },
      source: { value: true, help: 'camera URL (default synthetic://)' },
      json: JSON_FLAG,
      help: HELP_FLAG,
    },
  },
  soak: {
    synopsis: '[options]',
    flags: {
      duration: { value: true, help: 'seconds to run (default 600)' },
      source: { value: true, help: 'camera URL (default testsrc://?size=1920x1080&fps=60)' },
      warmup: { value: true, help: 'seconds before the targets are judged (default 10 % of the run, 5 to 60)' },
      faults: { value: true, help: `comma-separated scripted faults, or none (default all: ${FAULT_KINDS.join(',')})` },
      json: JSON_FLAG,
      html: { value: true, help: 'write the HTML report to FILE (default: beside --json)' },
      help: HELP_FLAG,
    },
  },
  'soak-report': {
    synopsis: '--from FILE.json [--html FILE]',
    flags: {
      from: { value: true, help: 'a soak JSON written by `heart bench soak --json` (required)' },
      html: { value: true, help: 'write the HTML report to FILE (default: beside the JSON)' },
      help: HELP_FLAG,
    },
  },
  cpu: {
    synopsis: '[options]',
    flags: {
      rounds: { value: true, help: 'alternating rounds, heart then the FFmpeg CLI or the other way round (default 3)' },
      seconds: { value: true, help: 'measured seconds per side and round (default 20)' },
      warmup: { value: true, help: 'seconds each side runs before it is measured (default 5)' },
      source: { value: true, help: 'camera URL: testsrc://, file:///path or rtsp:// (default heart run\'s, testsrc://?size=1920x1080&fps=60)' },
      noisy: { value: false, help: 'use a camera-like clip: 1080p60 testsrc2 with noise at 9 Mbit/s, made once with the FFmpeg CLI and cached' },
      json: JSON_FLAG,
      help: HELP_FLAG,
    },
  },
  record: {
    synopsis: '[options]',
    flags: {
      seconds: { value: true, help: 'seconds to record (default 600)' },
      source: { value: true, help: 'camera URL (default testsrc://?size=1920x1080&fps=60)' },
      dir: { value: true, help: 'write the segments here and keep them (default: a temporary folder, removed afterwards)' },
      json: JSON_FLAG,
      help: HELP_FLAG,
    },
  },
  backpressure: {
    synopsis: '[options]',
    flags: {
      seconds: { value: true, help: 'seconds of synthetic 60 FPS load (default 60)' },
      consumers: { value: true, help: 'verifying consumers beside the slow one (default 3)' },
      depth: { value: true, help: 'queue depth of the verifiers (default 8)' },
      size: { value: true, help: 'frame size WxH (default 1920x1080)' },
      json: JSON_FLAG,
      help: HELP_FLAG,
    },
  },
  live: {
    synopsis: '[options]',
    flags: {
      rounds: { value: true, help: 'rounds of no viewer / passthrough viewers / MJPEG viewers (default 2)' },
      seconds: { value: true, help: 'measured seconds per window (default 20)' },
      warmup: { value: true, help: 'seconds each window runs before it is measured (default 5)' },
      viewers: { value: true, help: 'viewers of each kind (default 3)' },
      source: { value: true, help: 'camera URL (default heart run\'s, testsrc://?size=1920x1080&fps=60)' },
      chromium: { value: false, help: 'also open the live view in /usr/bin/chromium and report the glass-to-glass latency it measures' },
      json: JSON_FLAG,
      help: HELP_FLAG,
    },
  },
  pool: {
    synopsis: '[options]',
    flags: {
      seconds: { value: true, help: 'measured seconds per mode and round (default 30)' },
      rounds: { value: true, help: 'rounds, each running every mode once, alternating (default 2)' },
      cameras: { value: true, help: 'cameras, each a 1080p30 ring with motion on every frame (default 4)' },
      modes: { value: true, help: 'comma-separated: threads,piscina,shared (default all)' },
      warmup: { value: true, help: 'seconds each mode runs before it is measured (default 2)' },
      json: JSON_FLAG,
      help: HELP_FLAG,
    },
  },
}

function parseFaults(value: string | undefined): FaultKind[] | undefined {
  if (value === undefined) return undefined
  if (value === 'none') return []
  const kinds = value.split(',')
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new UsageError(`--faults: unknown fault "${k}"; use none or any of ${FAULT_KINDS.join(', ')}`)
  }
  return kinds as FaultKind[]
}

/** A --source that is no URL at all (a bare path, a typo) is refused before heart starts. */
function parseSourceUrl(value: string | undefined): string | undefined {
  if (value !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw new UsageError(`--source: "${value}" is not a camera URL; use testsrc://, file:///path or rtsp://HOST/PATH`)
  return value
}

async function runScope(scope: string, args: readonly string[]): Promise<number> {
  // budget has its own parser and help (it is also `heart budget`).
  if (scope === 'budget') return (await import('./budget-cli.js')).budgetMain(args)
  const scopes = [...Object.keys(SCOPES), 'budget'].join(', ')
  if (scope === '' || scope === '--help') {
    process.stdout.write(`usage: heart bench SCOPE [options]; SCOPE is one of ${scopes}; heart bench SCOPE --help lists its options\n`)
    return scope === '' ? 2 : 0
  }
  const spec = SCOPES[scope]
  if (!spec) throw new UsageError(`heart bench: unknown scope "${scope}"; use ${scopes}`)
  const { flags, positionals } = parseArgs(args, spec.flags, `bench ${scope}`)
  if (flags.help) {
    process.stdout.write(helpText(`bench ${scope}`, spec.synopsis, spec.flags))
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`heart bench ${scope}: unexpected argument "${positionals[0]}"; see heart bench ${scope} --help`)
  const text = (name: string): string | undefined => flags[name] as string | undefined
  const num = (name: string): number | undefined => (flags[name] === undefined ? undefined : parsePositiveNumber(name, flags[name] as string))
  switch (scope) {
    case 'ring':
      await (await import('./ring.js')).benchRing({ json: text('json'), frames: num('frames') })
      return 0
    case 'decode':
      await (await import('./decode.js')).benchDecode({ json: text('json'), seconds: num('seconds'), runs: num('runs'), codecs: text('codecs')?.split(',') as never, source: text('source') })
      return 0
    case 'cpu':
      await (await import('./cpu.js')).benchCpu({ json: text('json'), rounds: num('rounds'), seconds: num('seconds'), warmupS: num('warmup'), source: text('source'), noisy: flags.noisy === true })
      return 0
    case 'live':
      await (await import('./live.js')).benchLive({ json: text('json'), rounds: num('rounds'), seconds: num('seconds'), warmupS: num('warmup'), viewers: num('viewers'), source: text('source'), chromium: flags.chromium === true })
      return 0
    case 'telemetry':
      await (await import('./telemetry.js')).benchTelemetry({ json: text('json'), seconds: num('seconds'), runs: num('runs'), consumers: num('consumers'), source: text('source') })
      return 0
    case 'soak': {
      const faults = parseFaults(text('faults'))
      const { runSoak } = await import('./soak.js')
      const result = await runSoak({ durationS: num('duration') ?? 600, source: text('source'), json: text('json'), html: text('html'), warmupS: num('warmup'), faults })
      return result.pass ? 0 : 1
    }
    case 'record':
      await (await import('./record.js')).benchRecord({ seconds: num('seconds'), source: parseSourceUrl(text('source')), dir: text('dir'), json: text('json') })
      return 0
    case 'pool': {
      const { benchPool, parsePoolModes } = await import('./pool.js')
      const { pass } = await benchPool({ json: text('json'), seconds: num('seconds'), rounds: num('rounds'), cameras: num('cameras'), modes: parsePoolModes(text('modes')), warmupS: num('warmup') })
      return pass ? 0 : 1
    }
    case 'soak-report': {
      const from = text('from')
      if (from === undefined) throw new UsageError('heart bench soak-report: --from FILE.json is required (a JSON written by heart bench soak --json)')
      const { writeSoakReport } = await import('./soak.js')
      process.stdout.write(`soak-report: wrote ${await writeSoakReport(from, text('html'))}\n`)
      return 0
    }
    default: {
      const { benchBackpressure } = await import('./backpressure.js')
      const pass = await benchBackpressure({ seconds: num('seconds') ?? 60, verifiers: num('consumers'), verifierDepth: num('depth'), size: text('size'), json: text('json') })
      return pass ? 0 : 1
    }
  }
}

const [scope, ...args] = process.argv.slice(2)
try {
  process.exitCode = await runScope(scope ?? '', args)
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  process.stderr.write(`${error.message.startsWith('heart ') ? '' : 'heart: '}${error.message}\n`)
  process.exitCode = 2
}
