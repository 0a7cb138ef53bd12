// Error factories: every error says what happened and what to do, and carries
// a stable `code` that callers and tests can match on.

import { CodedError, type VisionErrorCode } from '@heart/contracts'

export class VisionError extends CodedError<VisionErrorCode> {}

export function invalidOption(name: string, value: unknown, expected: string): VisionError {
  return new VisionError(
    'VISION_INVALID_OPTION',
    `vision option "${name}" is ${JSON.stringify(value)}; expected ${expected}. Fix the option in the vision config.`,
  )
}

export function planeTooSmall(need: number, have: number, what: string): VisionError {
  return new VisionError(
    'VISION_PLANE_TOO_SMALL',
    `${what}: the buffer holds ${have} bytes but the plane layout needs ${need}. Check the plane offset/stride/height passed in.`,
  )
}

export function unsupportedPixelFormat(pixFmt: string, consumer: string, supported: readonly string[]): VisionError {
  return new VisionError(
    'VISION_PIXEL_FORMAT',
    `${consumer} cannot read pixel format "${pixFmt}"; it supports ${supported.join(', ')}. Configure the camera output format accordingly.`,
  )
}

/** The detection service answered, but not with something we can use. */
export function badResponse(protocol: string, status: number, detail: string): VisionError {
  return new VisionError(
    'DETECTION_BAD_RESPONSE',
    `${protocol} detection service answered HTTP ${status}: ${detail}. Check the service URL, model name and that the service is healthy.`,
  )
}

export function serviceError(protocol: string, status: number, detail: string): VisionError {
  return new VisionError(
    'DETECTION_SERVICE',
    `${protocol} detection service reported an error (HTTP ${status}): ${detail}.`,
  )
}

export function requestTimeout(protocol: string, deadlineMs: number): VisionError {
  return new VisionError(
    'DETECTION_TIMEOUT',
    `${protocol} detection request exceeded its ${deadlineMs} ms deadline; the service is too slow for this rate (raise deadlineMs or lower the rate).`,
  )
}

export function unreachable(protocol: string, url: string, cause: unknown): VisionError {
  const why = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause)
  return new VisionError(
    'DETECTION_UNREACHABLE',
    `${protocol} detection service at ${url} could not be reached (${why}); check that it is running and the URL is right.`,
    { cause },
  )
}
