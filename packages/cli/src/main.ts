import { KernelError } from '@heart/kernel'
import { helpText, parseArgs, parseHostPort, parsePositiveNumber, type FlagSpec } from './args.js'
import { UsageError, usage } from './errors.js'
import { runHeart } from './run.js'

const RUN_FLAGS: Record<string, FlagSpec> = {
  source: { value: true, help: 'camera URL (default testsrc://): rtsp://, file://, v4l2://, testsrc://, synthetic://' },
  config: { value: true, help: 'config file, YAML or JSON (see docs/configuration.md)' },
  http: { value: true, help: 'HOST:PORT for /health, /metrics and the live view (default 127.0.0.1:8080)' },
  duration: { value: true, help: 'stop after S seconds (default: run until SIGINT / SIGTERM)' },
  summary: { value: true, help: 'write the run summary JSON to FILE when stopping' },
  help: { value: false, help: 'show this help' },
}

const COMMANDS = `usage: heart <command> [options]

commands:
  run      run the camera, workers and HTTP endpoints (default: built-in test camera)
  probe    open a source and print what it delivers
  bench    ring | decode | soak benchmarks
  budget   bandwidth and memory budget of a configuration

heart <command> --help shows the command's options.
`

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest)
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
  const running = await runHeart({
    source: flags.source as string | undefined,
    configFile: flags.config as string | undefined,
    http: flags.http ? parseHostPort(flags.http as string) : undefined,
    durationS: flags.duration ? parsePositiveNumber('duration', flags.duration as string) : undefined,
    summaryFile: flags.summary as string | undefined,
    handleSignals: true,
  })
  await running.finished
  return 0
}

/** Known errors print their message (and code); others print a stack. Exit 2 for usage, 1 otherwise. */
function reportError(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`heart: ${error.message}\n`)
    return 2
  }
  const code = (error as { code?: unknown })?.code
  if (error instanceof KernelError || (error instanceof Error && typeof code === 'string')) {
    process.stderr.write(`heart: ${error.message}${typeof code === 'string' ? ` [${code}]` : ''}\n`)
    return error instanceof KernelError && code === 'CONFIG_INVALID' ? 2 : 1
  }
  process.stderr.write(`heart: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  return 1
}
