import type { ErrorCode } from '@heart/contracts'
import { KernelError, clipText } from '@heart/kernel'
import { helpText, parseArgs, parseHostPort, parsePositiveNumber, type FlagSpec } from './args.js'
import { UsageError, usage } from './errors.js'
import { runHeart } from './run.js'
import { heartVersion } from './version.js'
import { formatProbe, probeSource, redactUrl } from '@heart/capture'
import { cameraPlans, defaultConfigFile, loadCheckedConfig } from './config.js'
import { heartConfigJsonSchema } from './config-schema.js'
import { planCameraRings } from './ring-memory.js'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createFieldLogger } from '@heart/telemetry'

/** pino's levels, quietest last. */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

const RUN_FLAGS: Record<string, FlagSpec> = {
  source: { value: true, help: 'camera URL (default testsrc://): rtsp://, file://, v4l2://, testsrc://, synthetic://' },
  config: { value: true, help: 'config file, YAML or JSON (default: $HEART_CONFIG, else /etc/heart/heart.yaml if it exists; docs/configuration.md)' },
  http: { value: true, help: 'HOST:PORT for /health, /metrics and the live view (default 127.0.0.1:8080; other than loopback needs a token: docs/security.md)' },
  duration: { value: true, help: 'stop after S seconds (default: run until SIGINT / SIGTERM)' },
  'log-level': { value: true, help: `${LOG_LEVELS.join(' | ')} (default: $HEART_LOG_LEVEL, else info)` },
  summary: { value: true, help: 'write the run summary JSON to FILE when stopping' },
  help: { value: false, help: 'show this help' },
}

const COMMANDS = `usage: heart <command> [options]
       heart --version

commands:
  run      run the camera, workers and HTTP endpoints (default: built-in test camera)
  probe    open a source and print what it delivers
  bench    benchmarks and soaks (heart bench --help lists them)
  budget   bandwidth and memory budget of a configuration
  config   schema: print heart.yaml's JSON Schema; check: validate a config file

heart <command> --help shows the command's options.
`

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest)
      case 'probe':
        return await probeCommand(rest)
      case 'bench':
        // The harness owns its list of scopes and checks the name itself.
        return await benchEntry(rest)
      case 'config':
        return await configCommand(rest)
      case 'budget':
        // The budget math lives beside the soak harness (bench/src/budget.ts), which also generates the planning page from it.
        return await benchEntry(['budget', ...rest])
      case '--version':
      case '-V':
      case 'version':
        process.stdout.write(`heart ${heartVersion()}\n`)
        return 0
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(COMMANDS)
        return 0
      default:
        throw usage(`unknown command "${command}"\n\n${COMMANDS}`)
    }
  } catch (error) {
    return reportError(error)
  }
}

async function runCommand(argv: readonly string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, RUN_FLAGS, 'run')
  if (flags.help) {
    process.stdout.write(helpText('run', '[options]', RUN_FLAGS))
    return 0
  }
  if (positionals.length > 0) throw usage(`heart run takes no positional arguments (got "${positionals[0]}"); use --source URL`)
  const level = (flags['log-level'] as string | undefined) ?? process.env.HEART_LOG_LEVEL ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw usage(`${flags['log-level'] !== undefined ? '--log-level' : 'HEART_LOG_LEVEL'}: got "${level}", allowed: ${LOG_LEVELS.join(', ')}`)
  }
  // Readable lines on a terminal, JSON otherwise (or always with HEART_LOG_FORMAT=json); NO_COLOR turns colour off.
  const pretty = process.stderr.isTTY === true && process.env.HEART_LOG_FORMAT !== 'json'
  const logger = createFieldLogger({ base: { app: 'heart' }, level, ...(pretty ? { pretty: { colour: !process.env.NO_COLOR } } : {}) })
  const running = await runHeart({
    logger,
    source: flags.source as string | undefined,
    configFile: (flags.config as string | undefined) ?? defaultConfigFile(),
    http: flags.http ? parseHostPort(flags.http as string) : undefined,
    durationS: flags.duration ? parsePositiveNumber('duration', flags.duration as string) : undefined,
    summaryFile: flags.summary as string | undefined,
    handleSignals: true,
  })
  await running.finished
  return 0
}

/** Codes that mean the command line or the config is wrong (the operator's to fix): exit 2, like a usage error. */
const OPERATOR_MISTAKES: ReadonlySet<string> = new Set([
  'CONFIG_INVALID',
  'CONFIG_UNREADABLE',
  'INVALID_SOURCE',
  'INVALID_CONFIG',
  // A consumer's options refused by the package that reads them, or the telemetry / stream section's own checks.
  'VISION_INVALID_OPTION',
  'STREAM_CONFIG',
  'TELEMETRY_CONFIG',
] satisfies ErrorCode[])

/** Longest line of an error printed: a value quoted somewhere deep (a megabyte source string) must not flood the terminal. */
const MESSAGE_LINE_LIMIT = 1000

/** An error's message with every line cut to a sane length. */
function cutLines(message: string): string {
  return message
    .split('\n')
    .map((line) => clipText(line, MESSAGE_LINE_LIMIT))
    .join('\n')
}

/** Known errors print their message (and code); others print a stack. Exit 2 for usage and config mistakes, 1 otherwise. */
function reportError(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`heart: ${cutLines(error.message)}${error.code === 'USAGE' ? '' : ` [${error.code}]`}\n`)
    return 2
  }
  const code = (error as { code?: unknown })?.code
  if (error instanceof KernelError || (error instanceof Error && typeof code === 'string')) {
    process.stderr.write(`heart: ${cutLines(error.message)}${typeof code === 'string' ? ` [${code}]` : ''}\n`)
    return OPERATOR_MISTAKES.has(code as string) ? 2 : 1
  }
  process.stderr.write(`heart: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  return 1
}

const CONFIG_FLAGS: Record<string, FlagSpec> = {
  config: { value: true, help: 'config file to check, YAML or JSON (default: $HEART_CONFIG, else /etc/heart/heart.yaml if it exists, else the built-in defaults)' },
  help: { value: false, help: 'show this help' },
}
const CONFIG_USAGE = 'schema | check [--config FILE]'

/** `heart config schema` prints the JSON Schema editors use; `heart config check` validates a file exactly as `heart run` would, starting nothing. */
async function configCommand(argv: readonly string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, CONFIG_FLAGS, 'config')
  const [action, ...extra] = positionals
  if (flags.help) {
    process.stdout.write(helpText('config', CONFIG_USAGE, CONFIG_FLAGS))
    return 0
  }
  if (extra.length > 0) throw usage(`heart config ${action} takes no further arguments (got "${extra[0]}")`)
  switch (action) {
    case 'schema':
      if (flags.config !== undefined) throw usage('heart config schema takes no --config: the schema is the same for every file')
      process.stdout.write(JSON.stringify(heartConfigJsonSchema(), null, 2) + '\n')
      return 0
    case 'check': {
      const file = (flags.config as string | undefined) ?? defaultConfigFile()
      const { config } = await loadCheckedConfig(file)
      const cameras = cameraPlans(config)
      planCameraRings(config.ring, cameras, file ?? 'built-in defaults')
      const described = cameras.map((c) => {
        const consumers = c.consumers.map((e) => `${e.name} (${e.kind})`).join(', ') || 'none'
        return config.cameras ? `camera ${c.name}${c.enabled ? '' : ' (disabled)'}: source ${redactUrl(c.source)}; consumers: ${consumers}` : `source ${redactUrl(c.source)}; consumers: ${consumers}`
      })
      process.stdout.write(`${file ?? 'built-in defaults'}: valid; ${described.join('; ')}\n`)
      return 0
    }
    default:
      throw usage(action === undefined ? `heart config needs an action: ${CONFIG_USAGE}` : `heart config: unknown action "${action}"; use ${CONFIG_USAGE}`)
  }
}

const PROBE_FLAGS: Record<string, FlagSpec> = {
  timeout: { value: true, help: 'give up after S seconds (default 10)' },
  json: { value: false, help: 'print JSON instead of text' },
  help: { value: false, help: 'show this help' },
}

async function probeCommand(argv: readonly string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, PROBE_FLAGS, 'probe')
  if (flags.help) {
    process.stdout.write(helpText('probe', 'URL [options]', PROBE_FLAGS))
    return 0
  }
  const url = positionals[0]
  if (!url || positionals.length > 1) throw usage('heart probe needs exactly one source URL, for example heart probe rtsp://192.168.1.20:554/stream1')
  const timeoutMs = flags.timeout ? parsePositiveNumber('timeout', flags.timeout as string) * 1000 : 10_000
  const result = await probeSource(url, { timeoutMs })
  process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : formatProbe(result) + '\n')
  return 0
}

/** Runs the bench harness (@heart/bench's main.js, found by package resolution so it works from an npm install as from the repository) in its own process, so its figures are not disturbed by this one, with these arguments, forwarding signals; resolves with its exit code. */
async function benchEntry(argv: readonly string[]): Promise<number> {
  const script = fileURLToPath(import.meta.resolve('@heart/bench/main'))
  const child = spawn(process.execPath, [script, ...argv], { stdio: 'inherit' })
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal)
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  const code = await new Promise<number>((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))))
  process.off('SIGINT', forward)
  process.off('SIGTERM', forward)
  return code
}
