/** A mistake in how heart was called: printed without a stack, exit code 2. */
export class UsageError extends Error {
  readonly code = 'USAGE'
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export function usage(message: string): UsageError {
  return new UsageError(message)
}
