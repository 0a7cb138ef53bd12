/** The CLI's codes (packages/contracts CLI_ERROR_CODES lists them for docs/errors.md). */
export type CliErrorCode = 'USAGE' | 'HTTP_AUTH_REQUIRED' | 'HTTP_AUTH_CONFLICT' | 'HTTP_TOKEN_INVALID' | 'HTTP_TLS_UNREADABLE'

/** A mistake in how heart was called or set up: printed without a stack, exit code 2. */
export class UsageError extends Error {
  readonly code: CliErrorCode
  constructor(message: string, code: CliErrorCode = 'USAGE') {
    super(message)
    this.name = 'UsageError'
    this.code = code
  }
}

export function usage(message: string, code: CliErrorCode = 'USAGE'): UsageError {
  return new UsageError(message, code)
}
