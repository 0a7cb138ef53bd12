// Error factories for @heart/capture. Every error carries a stable string
// `code` (the same vocabulary the native decoder uses) so callers branch on
// codes, never on message text. Messages never contain credentials: callers
// pass already-redacted URLs, and wrapNativeError scrubs whatever the
// decoder wrote.
import { CAPTURE_ERROR_CODES, CodedError, NATIVE_ERROR_CODES, type CaptureErrorCode as OwnCaptureErrorCode, type NativeErrorCode } from '@heart/contracts'
import { clipText } from '@heart/kernel'
import { redactText } from './redact.js'

/** Codes a CaptureError carries: capture's own, and the native decoder's, passed through unchanged. */
export type CaptureErrorCode = OwnCaptureErrorCode | NativeErrorCode

export class CaptureError extends CodedError<CaptureErrorCode> {}

const knownCodes: ReadonlySet<string> = new Set([...CAPTURE_ERROR_CODES, ...NATIVE_ERROR_CODES])

/** A code capture may carry; anything else thrown at it becomes UNKNOWN rather than a code nobody documented. */
function isCaptureErrorCode(code: string): code is CaptureErrorCode {
  return knownCodes.has(code)
}

/** Longest piece of a source mistake quoted: `what` holds the (redacted) URL, which may be megabytes. */
const SOURCE_QUOTE_LIMIT = 300

export function invalidSource(what: string, hint: string): CaptureError {
  return new CaptureError('INVALID_SOURCE', `invalid source: ${clipText(what, SOURCE_QUOTE_LIMIT)}. ${hint}`)
}

export function invalidConfig(what: string, hint: string): CaptureError {
  return new CaptureError('INVALID_CONFIG', `invalid capture config: ${what}. ${hint}`)
}

export function stalled(source: string, ms: number): CaptureError {
  return new CaptureError(
    'STALLED',
    `no frame from ${source} for ${ms} ms; reopening (raise capture.stallTimeoutMs if the camera is just slow)`,
  )
}

export function streamEnded(source: string): CaptureError {
  return new CaptureError('STREAM_ENDED', `${source} ended the stream; reopening`)
}

export function slotTooSmall(source: string, need: number, have: number, width: number, height: number): CaptureError {
  return new CaptureError(
    'SLOT_TOO_SMALL',
    `a ${width}x${height} frame from ${source} needs ${need} bytes but ring slots hold ${have}; ` +
      `raise capture.expect.maxSize so the ring is sized for it`,
  )
}

export function nativeUnavailable(cause: unknown): CaptureError {
  // The kernel's loader already says why and how to build; keep its words.
  const fromLoader = cause instanceof Error && (cause as { code?: unknown }).code === 'NATIVE_UNAVAILABLE'
  const message = fromLoader ? cause.message : 'the native decoder (@heart/native) could not be loaded; build it with `pnpm run build:native`'
  return new CaptureError('NATIVE_UNAVAILABLE', message, { cause })
}

/**
 * What a failure says about the network path to the camera: false when
 * nothing answered on its port, true when the camera itself answered (with a
 * refusal), undefined when it cannot tell (a stall, a timeout).
 */
export function reachabilityOf(code: string): boolean | undefined {
  if (code === 'CONNECT_REFUSED' || code === 'CONNECT_FAILED') return false
  if (code === 'STREAM_NOT_FOUND' || code === 'AUTH_FAILED' || code === 'FORMAT_MISMATCH' || code === 'UNSUPPORTED_CODEC') return true
  return undefined
}

/**
 * Turn anything thrown by the native layer into a CaptureError whose message
 * is scrubbed of credentials. `secrets` are literal strings (user, password)
 * that must not survive even if the decoder printed them percent-decoded.
 */
export function wrapNativeError(err: unknown, secrets: readonly string[] = []): CaptureError {
  if (err instanceof CaptureError) {
    return new CaptureError(err.code, redactText(err.message, secrets), { cause: err.cause })
  }
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null
  const rawCode = typeof e?.code === 'string' && isCaptureErrorCode(e.code) ? e.code : undefined
  const isAbort = e?.name === 'AbortError'
  const code: CaptureErrorCode = rawCode ?? (isAbort ? 'ABORTED' : 'UNKNOWN')
  const message = typeof e?.message === 'string' ? e.message : String(err)
  // The cause is dropped on purpose: the native error's message may hold the raw URL.
  return new CaptureError(code, redactText(message, secrets))
}
