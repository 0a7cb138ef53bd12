import { closest } from '@heart/kernel'
import { usage } from './errors.js'

export interface FlagSpec {
  /** Takes a value (--name VALUE or --name=VALUE); otherwise a boolean switch. */
  value: boolean
  help: string
}

export interface ParsedArgs {
  flags: Record<string, string | boolean>
  positionals: string[]
}

/**
 * Parses `--flag value`, `--flag=value` and switches against a known set, so
 * a typo is an error with a suggestion instead of being silently ignored.
 */
export function parseArgs(argv: readonly string[], spec: Record<string, FlagSpec>, command: string): ParsedArgs {
  const flags: Record<string, string | boolean> = {}
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    const known = spec[name]
    if (!known) {
      const near = closest(name, Object.keys(spec))
      throw usage(`heart ${command}: unknown option --${name}${near ? ` (did you mean --${near}?)` : ''}; see heart ${command} --help`)
    }
    if (!known.value) {
      if (eq >= 0) throw usage(`heart ${command}: --${name} takes no value`)
      flags[name] = true
      continue
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw usage(`heart ${command}: --${name} needs a value (${known.help})`)
    flags[name] = value
  }
  return { flags, positionals }
}

export function helpText(command: string, synopsis: string, spec: Record<string, FlagSpec>): string {
  const width = Math.max(...Object.entries(spec).map(([n, s]) => n.length + (s.value ? 6 : 0)))
  const lines = Object.entries(spec).map(([name, s]) => `  --${(name + (s.value ? ' VALUE' : '')).padEnd(width + 2)} ${s.help}`)
  return `usage: heart ${command} ${synopsis}\n\n${lines.join('\n')}\n`
}

/** "HOST:PORT", ":PORT" or "PORT". */
export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(value)
  const port = m ? Number(m[2]) : NaN
  if (!m || port > 65535) throw usage(`--http: "${value}" is not HOST:PORT (for example 127.0.0.1:8080, or 0 for any free port)`)
  return { host: m[1] ? m[1].replace(/^\[|\]$/g, '') : '127.0.0.1', port }
}

export function parsePositiveNumber(flag: string, value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw usage(`--${flag}: "${value}" is not a positive number`)
  return n
}
