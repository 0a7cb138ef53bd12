// The one shape of heart's errors: a stable `code` from error-codes.ts that
// callers branch on, a message that says what happened and what to do, and an
// optional cause. Each package declares its own subclass in one line
// (`class RingError extends CodedError<RingErrorCode> {}`) so `instanceof`
// still tells which layer failed; the subclass's name becomes `error.name`.
// The only runtime code in this package: eight packages had written this
// constructor out again, each slightly differently.

export class CodedError<Code extends string> extends Error {
  readonly code: Code
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}
