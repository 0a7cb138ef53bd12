import type { LogLevel, Logger } from './types.js'

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface JsonLoggerOptions {
  level?: LogLevel
  /** Where lines go; defaults to stderr so stdout stays free for status output. */
  write?: (line: string) => void
  /** Fields added to every line. */
  base?: Record<string, unknown>
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code, stack: value.stack }
  return value
}

/** A structured JSON-lines logger: one object a line, time in ISO, level as a word. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger & { child(base: Record<string, unknown>): Logger } {
  const min = LEVELS[options.level ?? 'info']
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const base = options.base ?? {}
  const log = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < min) return
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }, replacer))
  }
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (extra) => createJsonLogger({ ...options, base: { ...base, ...extra } }),
  }
}

/** A logger that drops everything (tests, embedding apps that log elsewhere). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }
