// Error factories: every error carries a stable `code` so callers (the poller's loss
// accounting, health) can branch on it, and a message that says what to do next.

import { CodedError, type ThermalErrorCode } from '@heart/contracts'

export type { ThermalErrorCode }

export class ThermalError extends CodedError<ThermalErrorCode> {}

export function eepromLengthError(got: number): ThermalError {
  return new ThermalError(
    'EEPROM_LENGTH',
    `MLX90640 EEPROM dump has ${got} words; expected 832 (0x2400..0x273F). Read the whole EEPROM before extracting parameters.`,
  )
}

export function eepromInvalidError(reason: string): ThermalError {
  return new ThermalError(
    'EEPROM_INVALID',
    `MLX90640 EEPROM failed its validity check: ${reason}. Re-read the EEPROM (a bus error can corrupt the dump); if it persists the sensor is not an MLX90640 or is damaged.`,
  )
}

export function tooManyBadPixelsError(broken: number, outliers: number): ThermalError {
  return new ThermalError(
    'TOO_MANY_BAD_PIXELS',
    `MLX90640 EEPROM marks ${broken} broken and ${outliers} outlier pixels; at most 4 in total are allowed. The sensor is out of specification (or the EEPROM dump is corrupt: re-read it).`,
  )
}

export function adjacentBadPixelsError(a: number, b: number): ThermalError {
  return new ThermalError(
    'ADJACENT_BAD_PIXELS',
    `MLX90640 EEPROM marks adjacent bad pixels ${a} and ${b}; their values cannot be interpolated. The sensor is out of specification (or the EEPROM dump is corrupt: re-read it).`,
  )
}

export function frameLengthError(got: number): ThermalError {
  return new ThermalError(
    'FRAME_LENGTH',
    `MLX90640 frame has ${got} words; expected 834 (768 pixels, 64 aux words, control register 1, subpage number).`,
  )
}

export function frameInvalidError(reason: string): ThermalError {
  return new ThermalError('FRAME_INVALID', `MLX90640 frame rejected: ${reason}.`)
}

export function outLengthError(got: number): ThermalError {
  return new ThermalError('OUT_LENGTH', `calculateTo needs an output array of 768 elements; got ${got}.`)
}

export function badArgumentError(message: string): ThermalError {
  return new ThermalError('BAD_ARGUMENT', message)
}

export function notReadyError(waitedMs: number): ThermalError {
  return new ThermalError(
    'NOT_READY',
    `MLX90640 reported no new data for ${waitedMs.toFixed(1)} ms (more than the refresh period allows). Check the refresh setting and that nothing else on the bus resets the part.`,
  )
}

export function configMismatchError(wrote: number, read: number): ThermalError {
  return new ThermalError(
    'CONFIG_MISMATCH',
    `MLX90640 control register reads back 0x${read.toString(16)} after writing 0x${wrote.toString(16)}: the write did not take. Check wiring and the bus address.`,
  )
}

export function overwrittenError(): ThermalError {
  return new ThermalError(
    'FRAME_INVALID',
    'MLX90640 RAM may have been overwritten by a subpage of the same pattern during the read (the read was too slow, or the thread was stalled); frame discarded. Raise the bus speed, lower the refresh rate, or give the machine spare CPU.',
  )
}
