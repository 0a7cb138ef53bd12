// The one seam between the MLX90640 driver and a bus: a real Linux adapter or the emulator.
import { badArgumentError } from './errors.js'

export interface I2cTransport {
  /**
   * One combined transaction: START, address+W, `write` bytes, repeated START, address+R,
   * `readLen` bytes, STOP. The MLX90640 needs this form: it forgets the register address
   * at a STOP.
   */
  writeRead(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array>
  /** START, address+W, `data`, STOP. */
  write(addr: number, data: Uint8Array): Promise<void>
  /** A bare read (START, address+R, bytes, STOP), for buses that offer it; the MLX90640 cannot be read this way. */
  read?(addr: number, len: number): Promise<Uint8Array>
  /** The largest read the adapter carries in one transaction, in bytes. */
  readonly maxReadBytes: number
  /** Bus clock in Hz, when known (for bus-time budgets and health). */
  readonly clockHz: number
  close(): Promise<void>
}

/** Register address as the two big-endian bytes the MLX90640 expects. */
export function addressBytes(register: number): Uint8Array {
  return Uint8Array.of((register >> 8) & 0xff, register & 0xff)
}

/** Big-endian bytes -> 16-bit words. */
export function bytesToWords(bytes: Uint8Array, out?: Uint16Array, outOffset = 0): Uint16Array {
  if (bytes.length % 2 !== 0) throw badArgumentError(`an odd number of bytes (${bytes.length}) cannot be 16-bit words`)
  const words = out ?? new Uint16Array(bytes.length / 2)
  for (let i = 0; i < bytes.length / 2; i++) words[outOffset + i] = (bytes[2 * i]! << 8) | bytes[2 * i + 1]!
  return words
}

/** Register address followed by big-endian words: the payload of a register write. */
export function wordsWithAddress(register: number, words: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(2 + 2 * words.length)
  out[0] = (register >> 8) & 0xff
  out[1] = register & 0xff
  for (let i = 0; i < words.length; i++) {
    out[2 + 2 * i] = (words[i]! >> 8) & 0xff
    out[3 + 2 * i] = words[i]! & 0xff
  }
  return out
}

/** Bus time of a transaction in ms: every byte is 8 data bits plus an ACK bit. */
export function busTimeMs(bytes: number, clockHz: number): number {
  return (bytes * 9 * 1000) / clockHz
}
