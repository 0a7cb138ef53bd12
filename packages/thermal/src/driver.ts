// MLX90640 driver over an I2cTransport: reads and checks the EEPROM, configures control
// register 1, waits on the status register's data-ready bit and reads each subpage in as
// few transactions as the adapter allows (one 1664-byte read of 0x0400..0x073F on Linux).
import { calculateTo, extractParameters, getTa, getVdd, type Mlx90640Params } from './calibration.js'
import { RealClock, type Clock } from './clock.js'
import {
  badArgumentError,
  configMismatchError,
  frameInvalidError,
  notReadyError,
  overwrittenError,
} from './errors.js'
import { AUX_CP_SP0, AUX_START, AUX_WORDS, AUX_CP_SP1, AUX_GAIN, AUX_PTAT, AUX_VBE, AUX_VDD, CTRL_CHESS_MODE, CTRL_DATA_HOLD, CTRL_REFRESH_MASK, CTRL_REFRESH_SHIFT, CTRL_RESOLUTION_SHIFT, CTRL_SUBPAGE_MODE, CTRL_SUBPAGE_REPEAT, DEFAULT_ADDRESS, EEPROM_START, EEPROM_WORDS, FRAME_CTRL_INDEX, FRAME_SUBPAGE_INDEX, FRAME_WORDS, PIXELS, RAM_START, RAM_WORDS, REFRESH_RATES_HZ, REG_CONTROL1, REG_STATUS, RESOLUTION_BITS, STATUS_DATA_READY, STATUS_LAST_SUBPAGE_MASK, STATUS_OVERWRITE_ENABLE } from './registers.js'
import { addressBytes, bytesToWords, wordsWithAddress, type I2cTransport } from './transport.js'

const UNWRITTEN = 0x7fff

export interface Mlx90640Options {
  address?: number
  /** Subpage rate in Hz: one of 0.5, 1, 2, 4, 8, 16, 32, 64. A full image takes two subpages. */
  refreshHz?: number
  /** ADC resolution in bits: 16..19 (18 is the calibration default). */
  resolution?: number
  /** Chess pattern (the calibration default) or interleaved rows. */
  chess?: boolean
  /**
   * Data hold: the part leaves RAM alone while we read it, but a subpage finishing during
   * the read is then dropped by the part. Off by default: the driver reads the aux words
   * first and relies on each subpage writing only its own pixels (see readSubpage).
   */
  dataHold?: boolean
  clock?: Clock
  /** Status polling interval while waiting for data, ms. */
  pollIntervalMs?: number
}

export interface SubpageRead {
  /** The 834-word frame (reference layout). */
  frame: Uint16Array
  subpage: number
  /** Clock time (ms) at which data-ready was first seen. */
  readyAtMs: number
  /** The last poll that still saw no new data (null if the first poll saw it): the subpage completed between the two. */
  notReadyAtMs: number | null
  /** Bus transactions this read took (status polls included). */
  transactions: number
  /** Wall time of the RAM read alone, ms: with its byte count this gives the real bus speed. */
  ramReadMs: number
  ramReadBytes: number
  /**
   * The other pattern's pixels in `frame` are the previous subpage's, untouched during the
   * read (RAM always holds the newest subpage of each pattern). When that subpage was
   * never read, the poller can still use its pixels (see ThermalPoller).
   */
  otherPatternIntact: boolean
}

export function refreshCode(hz: number): number {
  const code = REFRESH_RATES_HZ.indexOf(hz as (typeof REFRESH_RATES_HZ)[number])
  if (code < 0) throw badArgumentError(`MLX90640 refresh rate ${hz} Hz is not a setting; use one of ${REFRESH_RATES_HZ.join(', ')}`)
  return code
}

export class Mlx90640 {
  readonly address: number
  readonly refreshHz: number
  readonly chess: boolean
  readonly dataHold: boolean
  readonly clock: Clock
  private readonly resolutionCode: number
  private readonly pollIntervalMs: number
  private paramsValue: Mlx90640Params | null = null
  private ctrlValue = 0
  private transactions = 0
  /** RAM is frozen (data hold) by a read that did not finish: open it before waiting again. */
  private ramFrozen = false

  constructor(
    readonly transport: I2cTransport,
    opts: Mlx90640Options = {},
  ) {
    this.address = opts.address ?? DEFAULT_ADDRESS
    this.refreshHz = opts.refreshHz ?? 16
    refreshCode(this.refreshHz)
    const bits = opts.resolution ?? 18
    this.resolutionCode = RESOLUTION_BITS.indexOf(bits as (typeof RESOLUTION_BITS)[number])
    if (this.resolutionCode < 0) throw badArgumentError(`MLX90640 resolution ${bits} bits is not a setting; use 16, 17, 18 or 19`)
    this.chess = opts.chess ?? true
    this.dataHold = opts.dataHold ?? false
    this.clock = opts.clock ?? new RealClock()
    this.pollIntervalMs = opts.pollIntervalMs ?? 2
  }

  get params(): Mlx90640Params {
    if (!this.paramsValue) throw badArgumentError('MLX90640 driver used before init(): call await sensor.init() first')
    return this.paramsValue
  }

  get ctrl(): number {
    return this.ctrlValue
  }

  get subpagePeriodMs(): number {
    return 1000 / this.refreshHz
  }

  /** Read and check the calibration, then configure and verify control register 1. */
  async init(): Promise<void> {
    const eeprom = await this.readWords(EEPROM_START, EEPROM_WORDS)
    this.paramsValue = extractParameters(eeprom)
    await this.configure()
  }

  async configure(): Promise<number> {
    const current = await this.readRegister(REG_CONTROL1)
    // Keep the bits we do not own (13..15 are reserved); set mode, rate, resolution, pattern, hold.
    let ctrl = current & 0xe000
    ctrl |= CTRL_SUBPAGE_MODE
    ctrl &= ~CTRL_SUBPAGE_REPEAT
    if (this.dataHold) ctrl |= CTRL_DATA_HOLD
    ctrl |= refreshCode(this.refreshHz) << CTRL_REFRESH_SHIFT
    ctrl |= this.resolutionCode << CTRL_RESOLUTION_SHIFT
    if (this.chess) ctrl |= CTRL_CHESS_MODE
    await this.writeRegister(REG_CONTROL1, ctrl)
    const readBack = await this.readRegister(REG_CONTROL1)
    if (readBack !== ctrl) throw configMismatchError(ctrl, readBack)
    // Start clean: no stale data-ready, RAM open for the next subpage.
    await this.writeRegister(REG_STATUS, STATUS_OVERWRITE_ENABLE)
    this.ramFrozen = false
    this.ctrlValue = ctrl
    return ctrl
  }

  /** Change only the refresh setting (the poller's cool-down uses the slowest rate); init() restores the configured one. */
  async setRefresh(hz: number): Promise<void> {
    const ctrl = (this.ctrlValue & ~CTRL_REFRESH_MASK) | (refreshCode(hz) << CTRL_REFRESH_SHIFT)
    await this.writeRegister(REG_CONTROL1, ctrl)
    this.ctrlValue = ctrl
  }

  /** Read `count` words from `register` in as few transactions as the adapter allows. */
  async readWords(register: number, count: number, out = new Uint16Array(count), outOffset = 0): Promise<Uint16Array> {
    const maxWords = Math.max(1, Math.floor(this.transport.maxReadBytes / 2))
    for (let done = 0; done < count; ) {
      const n = Math.min(maxWords, count - done)
      this.transactions++
      const bytes = await this.transport.writeRead(this.address, addressBytes(register + done), 2 * n)
      bytesToWords(bytes, out, outOffset + done)
      done += n
    }
    return out
  }

  async readRegister(register: number): Promise<number> {
    return (await this.readWords(register, 1))[0]!
  }

  async writeRegister(register: number, value: number): Promise<void> {
    this.transactions++
    await this.transport.write(this.address, wordsWithAddress(register, [value]))
  }

  /**
   * Wait for the data-ready bit, polling every pollIntervalMs, for at most `timeoutMs`
   * (default: two subpage periods). Returns the status word.
   */
  async waitReady(
    signal?: AbortSignal,
    timeoutMs = 2 * this.subpagePeriodMs + 20,
  ): Promise<{ status: number; readyAtMs: number; notReadyAtMs: number | null }> {
    const start = this.clock.nowMs()
    let notReadyAtMs: number | null = null
    for (;;) {
      const status = await this.readRegister(REG_STATUS)
      const now = this.clock.nowMs()
      if (status & STATUS_DATA_READY) return { status, readyAtMs: now, notReadyAtMs }
      notReadyAtMs = now
      if (signal?.aborted) throw signal.reason ?? new Error('aborted')
      if (now - start > timeoutMs) throw notReadyError(now - start)
      await this.clock.sleep(this.pollIntervalMs, signal)
    }
  }

  /** Wait for and read the next subpage; validates it before returning. */
  async readSubpage(signal?: AbortSignal, frame = new Uint16Array(FRAME_WORDS), timeoutMs?: number): Promise<SubpageRead> {
    const before = this.transactions
    if (this.ramFrozen) {
      await this.writeRegister(REG_STATUS, STATUS_OVERWRITE_ENABLE)
      this.ramFrozen = false
    }
    const { status, readyAtMs, notReadyAtMs } = await this.waitReady(signal, timeoutMs)
    let subpage: number
    let ramStart: number
    let ramMs: number
    // With data hold a subpage finishing while RAM is frozen is dropped, not stored: the other
    // pattern's pixels may be older than the previous subpage, so they are never salvaged.
    let otherPatternIntact = false
    if (this.dataHold) {
      // Freeze RAM and clear data-ready (both in one write), read, then look again at the
      // status: the subpage number is final now, nothing can replace RAM under us.
      this.ramFrozen = true
      await this.writeRegister(REG_STATUS, 0)
      ramStart = this.clock.nowMs()
      await this.readWords(RAM_START, RAM_WORDS, frame, 0)
      ramMs = this.clock.nowMs() - ramStart
      subpage = (await this.readRegister(REG_STATUS)) & STATUS_LAST_SUBPAGE_MASK
      try {
        await this.writeRegister(REG_STATUS, STATUS_OVERWRITE_ENABLE)
        this.ramFrozen = false
      } catch {
        // The frame is complete; RAM stays frozen and the next read opens it first.
      }
    } else {
      // No data hold: a subpage only writes its own pattern's pixels, so the next one
      // landing mid-read leaves ours intact and is not lost either (we read it next). What
      // it does replace is the aux block (Ta, Vdd, gain, compensation pixels), so read the
      // aux words first and check no subpage landed meanwhile, then the pixels. Only a
      // subpage of our own pattern (the one after next) would tear our pixels: the status
      // register's subpage number and the elapsed time tell whether one could have landed.
      let status2 = status
      let checkedAt: number
      for (let attempt = 0; ; attempt++) {
        subpage = status2 & STATUS_LAST_SUBPAGE_MASK
        await this.writeRegister(REG_STATUS, STATUS_OVERWRITE_ENABLE) // clear data-ready
        ramStart = this.clock.nowMs()
        await this.readWords(AUX_START, AUX_WORDS, frame, PIXELS)
        status2 = await this.readRegister(REG_STATUS)
        checkedAt = this.clock.nowMs()
        if (!(status2 & STATUS_DATA_READY)) break
        // The next subpage landed during the aux read: take that one instead.
        if (attempt >= 1) throw overwrittenError()
      }
      await this.readWords(RAM_START, PIXELS, frame, 0)
      ramMs = this.clock.nowMs() - ramStart
      const after = await this.readRegister(REG_STATUS)
      const sameParityLanded = (after & STATUS_DATA_READY) !== 0 && (after & STATUS_LAST_SUBPAGE_MASK) === subpage
      if (sameParityLanded || this.clock.nowMs() - checkedAt >= 2 * this.subpagePeriodMs) throw overwrittenError()
      // A subpage of the other pattern landing during the pixel read rewrote part of that half.
      otherPatternIntact = (after & STATUS_DATA_READY) === 0
    }
    if (subpage > 1) throw frameInvalidError(`status register reports subpage ${subpage}; only 0 and 1 exist`)
    frame[FRAME_CTRL_INDEX] = this.ctrlValue
    frame[FRAME_SUBPAGE_INDEX] = subpage
    validateFrame(frame, this.params)
    return {
      frame,
      subpage,
      readyAtMs,
      notReadyAtMs,
      transactions: this.transactions - before,
      ramReadMs: ramMs,
      ramReadBytes: this.ramReadBytes(),
      otherPatternIntact,
    }
  }

  /** Bytes on the wire for one RAM read: per transaction, address+W, 2 register bytes, address+R, then the data. */
  ramReadBytes(): number {
    const maxWords = Math.max(1, Math.floor(this.transport.maxReadBytes / 2))
    const chunks = this.dataHold ? Math.ceil(RAM_WORDS / maxWords) : Math.ceil(PIXELS / maxWords) + Math.ceil(AUX_WORDS / maxWords)
    // Without data hold the timed span also holds one 6-byte status read.
    return chunks * 4 + RAM_WORDS * 2 + (this.dataHold ? 0 : 6)
  }

  /** Object temperatures of the frame's subpage into `image`; returns Ta. */
  computeTo(frame: Uint16Array, image: Float32Array | Float64Array, emissivity = 1, tr?: number): number {
    const ta = getTa(frame, this.params)
    return calculateTo(frame, this.params, emissivity, tr ?? ta - 8, image)
  }

  /** Total bus transactions issued so far. */
  get transactionCount(): number {
    return this.transactions
  }
}

/**
 * Reject frames whose auxiliary words cannot be right: never written (0x7FFF), or giving a
 * supply voltage or die temperature no working part reports. A corrupted aux word would
 * otherwise skew every pixel of the image.
 */
export function validateFrame(frame: Uint16Array, params: Mlx90640Params): void {
  for (const [name, offset] of [
    ['Vbe', AUX_VBE],
    ['PTAT', AUX_PTAT],
    ['gain', AUX_GAIN],
    ['VDD', AUX_VDD],
    ['compensation pixel 0', AUX_CP_SP0],
    ['compensation pixel 1', AUX_CP_SP1],
  ] as const) {
    if (frame[PIXELS + offset] === UNWRITTEN) throw frameInvalidError(`aux word ${name} was never written (0x7FFF)`)
  }
  if (frame[PIXELS + AUX_GAIN] === 0) throw frameInvalidError('gain word is 0')
  const vdd = getVdd(frame, params)
  if (!(vdd > 2.8 && vdd < 3.8)) throw frameInvalidError(`supply voltage ${vdd.toFixed(3)} V is outside 2.8..3.8 V`)
  const ta = getTa(frame, params)
  if (!(ta > -45 && ta < 130)) throw frameInvalidError(`die temperature ${ta.toFixed(2)} °C is outside -45..130 °C`)
}
