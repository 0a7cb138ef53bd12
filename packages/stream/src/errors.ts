// Error factories: every error says what happened and what to do about it, and
// carries a stable `code` that tests and callers can match on.

import { CodedError, type StreamErrorCode } from '@heart/contracts'

export class StreamError extends CodedError<StreamErrorCode> {}

export function invalidEncoderConfig(field: string, value: unknown, expected: string): StreamError {
  return new StreamError(
    'STREAM_CONFIG',
    `stream encoder config: ${field} = ${JSON.stringify(value)} is not valid; expected ${expected}`,
  )
}

export function jpegTooLarge(bytes: number, capacity: number): StreamError {
  return new StreamError(
    'STREAM_JPEG_TOO_LARGE',
    `encoded JPEG of ${bytes} bytes does not fit the ${capacity}-byte share slot; ` +
      `lower the stream size or quality, or create the JpegShare with a larger slotBytes`,
  )
}

export function badJpegShare(reason: string): StreamError {
  return new StreamError(
    'STREAM_SHARE',
    `the SharedArrayBuffer given as the JPEG share is not one: ${reason}; ` +
      `create it with JpegShare.create() in the main thread and pass share.buffer to the encoder worker`,
  )
}

export function encoderModuleInvalid(specifier: string, detail: string): StreamError {
  return new StreamError(
    'STREAM_ENCODER_MODULE',
    `encoder module ${JSON.stringify(specifier)} cannot be used: ${detail}; ` +
      `it must export encodeJpeg(src, layout, { width, height, quality }) (build the native addon with pnpm run build:native)`,
  )
}

export function missingSharedBuffer(name: string): StreamError {
  return new StreamError(
    'STREAM_SHARED_MISSING',
    `the encoder worker was started without ctx.shared.${name}; ` +
      `start it with encoderService(...) so the ring and the JPEG share are passed in`,
  )
}
