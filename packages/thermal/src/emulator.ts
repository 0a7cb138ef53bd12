// A register-accurate MLX90640 on an emulated I²C bus, behind the same transport as a
// real adapter. What it models, because drivers get these wrong on the real part:
// - EEPROM, RAM and registers at their addresses, big-endian 16-bit words, reads that
//   auto-increment the address, writes to read-only memory refused;
// - the register address is forgotten at a STOP: only a repeated-start read works;
// - subpages measured at the configured refresh rate, alternating 0 / 1, each writing only
//   the pixels of its pattern (chess or interleaved) and the aux words;
// - status bit 3 (new data) set per subpage and cleared only by the controller;
// - RAM overwritten by the next subpage in the middle of a slow read, unless data hold
//   (control bit 2) is on and overwrite (status bit 4) is off;
// - bus time (bytes x 9 / clock) spent on a Clock: real (the thread blocks like an ioctl)
//   or virtual (tests run faster than real time);
// - injectable faults: NACK, timeout, a corrupted word.
import { extractParameters, pixelSubpage, type Mlx90640Params } from './calibration.js'
import { RealClock, type Clock } from './clock.js'
import { badArgumentError, ThermalError } from './errors.js'
import {
  AUX_START,
  CTRL_CHESS_MODE,
  CTRL_DATA_HOLD,
  CTRL_DEFAULT,
  CTRL_REFRESH_MASK,
  CTRL_REFRESH_SHIFT,
  CTRL_SUBPAGE_MODE,
  CTRL_SUBPAGE_REPEAT,
  DEFAULT_ADDRESS,
  EEPROM_END,
  EEPROM_START,
  FRAME_WORDS,
  PIXELS,
  RAM_END,
  RAM_START,
  RAM_WORDS,
  REFRESH_RATES_HZ,
  REG_CONTROL1,
  REG_I2C_CONFIG,
  REG_STATUS,
  STATUS_DATA_READY,
  STATUS_LAST_SUBPAGE_MASK,
  STATUS_OVERWRITE_ENABLE,
  STATUS_START_MEASUREMENT,
} from './registers.js'
import { blobScene, type Scene } from './scenes.js'
import { prng, synthesizeEeprom, UNWRITTEN_WORD } from './synthesize.js'
import { busTimeMs, type I2cTransport } from './transport.js'

export type FaultKind = 'nack' | 'timeout' | 'corrupt'
export type FaultTarget = 'any' | 'ram' | 'status' | 'control' | 'eeprom'

export interface FaultSpec {
  kind: FaultKind
  /** How many matching transactions it hits (default 1). */
  count?: number
  /** Which transactions it applies to, by the register they start at (default any). */
  target?: FaultTarget
  /** For corrupt: which word of the read to change (default: a random one) and its new value (default: bits flipped). */
  word?: number
  value?: number
}

export interface FaultRates {
  nack?: number
  timeout?: number
  corrupt?: number
}

export interface EmulatorOptions {
  eeprom?: Uint16Array
  scene?: Scene
  address?: number
  /** Bus clock in Hz: 100 kHz, 400 kHz and 1 MHz are the usual settings. */
  busHz?: number
  clock?: Clock
  /** The adapter's largest read per transaction, bytes. */
  maxReadBytes?: number
  /** How long a timed-out transaction holds the bus before failing, ms. */
  timeoutMs?: number
  /** Per-transaction fault probabilities for soak runs, with a seed for repeatability. */
  faultRates?: FaultRates
  seed?: number
}

export interface EmulatorStats {
  transactions: number
  bytes: number
  busMs: number
  subpagesMeasured: number
  /** Subpages that replaced RAM while the previous one was still unread (data-ready still set). */
  subpagesOverrun: number
  /** Subpages not transferred because data hold was on and overwrite off. */
  subpagesHeld: number
  faults: { nack: number; timeout: number; corrupt: number }
}

/** Beyond this many periods behind, the emulator skips ahead instead of replaying each subpage. */
const MAX_CATCH_UP_SUBPAGES = 4

export class Mlx90640Emulator implements I2cTransport {
  readonly address: number
  readonly clockHz: number
  readonly maxReadBytes: number
  readonly params: Mlx90640Params
  readonly clock: Clock
  readonly stats: EmulatorStats = {
    transactions: 0,
    bytes: 0,
    busMs: 0,
    subpagesMeasured: 0,
    subpagesOverrun: 0,
    subpagesHeld: 0,
    faults: { nack: 0, timeout: 0, corrupt: 0 },
  }

  private readonly eeprom: Uint16Array
  private readonly ram = new Uint16Array(RAM_WORDS).fill(UNWRITTEN_WORD)
  private readonly staging = new Uint16Array(FRAME_WORDS)
  private status = 0
  private ctrl = CTRL_DEFAULT
  private i2cConfig = 0
  private scene: Scene
  private readonly timeoutMs: number
  private readonly startMs: number
  private nextCompleteMs = 0
  private nextSubpage = 0
  private measured = 0
  private faults: Array<FaultSpec & { remaining: number }> = []
  private readonly faultRates: FaultRates
  private readonly rand: () => number
  private closed = false

  constructor(opts: EmulatorOptions = {}) {
    this.eeprom = Uint16Array.from(opts.eeprom ?? synthesizeEeprom())
    this.params = extractParameters(this.eeprom)
    this.scene = opts.scene ?? blobScene()
    this.address = opts.address ?? DEFAULT_ADDRESS
    this.clockHz = opts.busHz ?? 400_000
    if (!(this.clockHz >= 10_000 && this.clockHz <= 3_400_000)) {
      throw badArgumentError(`emulated bus clock ${this.clockHz} Hz is out of range; use 100000, 400000 or 1000000`)
    }
    this.maxReadBytes = opts.maxReadBytes ?? 8192
    this.clock = opts.clock ?? new RealClock()
    this.timeoutMs = opts.timeoutMs ?? 25
    this.faultRates = opts.faultRates ?? {}
    this.rand = prng(opts.seed ?? 7)
    this.startMs = this.clock.nowMs()
    this.restartMeasurement(this.startMs)
  }

  setScene(scene: Scene): void {
    this.scene = scene
  }

  /** Queue a fault for the next matching transaction(s). */
  injectFault(fault: FaultSpec): void {
    this.faults.push({ ...fault, remaining: fault.count ?? 1 })
  }

  /** Subpage period at the current refresh setting, ms. */
  get subpagePeriodMs(): number {
    return 1000 / REFRESH_RATES_HZ[(this.ctrl & CTRL_REFRESH_MASK) >> CTRL_REFRESH_SHIFT]!
  }

  /** Test hook: a register or memory word as the part holds it now, without bus time. */
  peek(register: number): number {
    this.advanceTo(this.clock.nowMs())
    return this.readWord(register)
  }

  async writeRead(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array> {
    this.checkOpen()
    if (readLen > this.maxReadBytes) {
      throw new ThermalError('I2C_IO', `read of ${readLen} bytes exceeds the adapter limit of ${this.maxReadBytes}; split the read`)
    }
    const bytes = 1 + write.length + 1 + readLen
    const t0 = this.clock.nowMs()
    this.addressCheck(addr)
    if (write.length !== 2) {
      this.spend(bytes)
      throw new ThermalError('I2C_NACK', `MLX90640 expects a 2-byte register address before a read; got ${write.length} bytes`)
    }
    const register = (write[0]! << 8) | write[1]!
    const fault = this.takeFault(register)
    if (fault) this.failTransaction(fault, bytes)
    // The write phase may itself carry the start of a measurement: catch up to now.
    this.advanceTo(t0)
    const out = new Uint8Array(readLen)
    const byteMs = busTimeMs(1, this.clockHz)
    const headerBytes = 1 + write.length + 1
    for (let i = 0; i < readLen / 2; i++) {
      // The word is sampled when its first byte goes on the wire: a subpage finishing
      // mid-read changes the words after that point (unless data hold protects RAM).
      this.advanceTo(t0 + (headerBytes + 2 * i) * byteMs)
      const w = this.readWord((register + i) & 0xffff)
      out[2 * i] = w >> 8
      out[2 * i + 1] = w & 0xff
    }
    if (fault?.kind === 'corrupt') this.corrupt(out, fault)
    this.spend(bytes)
    return out
  }

  async write(addr: number, data: Uint8Array): Promise<void> {
    this.checkOpen()
    const bytes = 1 + data.length
    this.addressCheck(addr)
    if (data.length < 2 || data.length % 2 !== 0) {
      this.spend(bytes)
      throw new ThermalError('I2C_NACK', `MLX90640 writes are a 2-byte address then 16-bit words; got ${data.length} bytes`)
    }
    const register = (data[0]! << 8) | data[1]!
    const fault = this.takeFault(register)
    if (fault && fault.kind !== 'corrupt') this.failTransaction(fault, bytes)
    this.advanceTo(this.clock.nowMs())
    // Validate every target before changing anything, so a refused write changes nothing.
    for (let i = 0; 2 + 2 * i < data.length; i++) {
      const reg = register + i
      if (reg !== REG_STATUS && reg !== REG_CONTROL1 && reg !== REG_I2C_CONFIG) {
        this.spend(bytes)
        throw new ThermalError(
          'READ_ONLY',
          `MLX90640 address 0x${reg.toString(16).padStart(4, '0')} is read-only (RAM and EEPROM are written by the part, registers at 0x8000, 0x800D and 0x800F are writable)`,
        )
      }
    }
    this.spend(bytes)
    const now = this.clock.nowMs()
    for (let i = 0; 2 + 2 * i < data.length; i++) {
      let value = (data[2 + 2 * i]! << 8) | data[3 + 2 * i]!
      if (fault?.kind === 'corrupt' && i === (fault.word ?? 0)) value ^= fault.value ?? 0x0404
      this.writeRegister(register + i, value, now)
    }
  }

  /** A bare read: the part has no address after a STOP, so this returns junk, as the real part does. */
  async read(addr: number, len: number): Promise<Uint8Array> {
    this.checkOpen()
    this.addressCheck(addr)
    this.spend(1 + len)
    return new Uint8Array(len).fill(0xff)
  }

  async close(): Promise<void> {
    this.closed = true
  }

  private checkOpen(): void {
    if (this.closed) throw new ThermalError('I2C_IO', 'the emulated bus is closed')
  }

  private addressCheck(addr: number): void {
    if (addr !== this.address) {
      this.spend(1)
      this.stats.faults.nack++
      throw new ThermalError(
        'I2C_NACK',
        `no device answered at I²C address 0x${addr.toString(16)} (the emulated MLX90640 is at 0x${this.address.toString(16)})`,
      )
    }
  }

  private spend(bytes: number): void {
    const ms = busTimeMs(bytes, this.clockHz)
    this.stats.transactions++
    this.stats.bytes += bytes
    this.stats.busMs += ms
    this.clock.block(ms)
  }

  private takeFault(register: number): (FaultSpec & { remaining: number }) | null {
    const target = targetOf(register)
    const idx = this.faults.findIndex((f) => (f.target ?? 'any') === 'any' || f.target === target)
    if (idx >= 0) {
      const f = this.faults[idx]!
      if (--f.remaining <= 0) this.faults.splice(idx, 1)
      return f
    }
    const r = this.faultRates
    if (r.nack && this.rand() < r.nack) return { kind: 'nack', remaining: 0 }
    if (r.timeout && this.rand() < r.timeout) return { kind: 'timeout', remaining: 0 }
    if (r.corrupt && this.rand() < r.corrupt) return { kind: 'corrupt', remaining: 0 }
    return null
  }

  private failTransaction(fault: FaultSpec, bytes: number): void {
    if (fault.kind === 'nack') {
      this.stats.faults.nack++
      this.spend(Math.min(bytes, 3))
      throw new ThermalError('I2C_NACK', 'MLX90640 did not acknowledge (injected NACK)')
    }
    if (fault.kind === 'timeout') {
      this.stats.faults.timeout++
      this.stats.transactions++
      this.clock.block(this.timeoutMs)
      throw new ThermalError('I2C_TIMEOUT', `I²C transaction timed out after ${this.timeoutMs} ms (injected)`)
    }
  }

  private corrupt(out: Uint8Array, fault: FaultSpec): void {
    this.stats.faults.corrupt++
    const words = out.length / 2
    const i = fault.word ?? Math.floor(this.rand() * words)
    if (i >= words) return
    const old = (out[2 * i]! << 8) | out[2 * i + 1]!
    const w = fault.value ?? (old ^ 0x4210)
    out[2 * i] = w >> 8
    out[2 * i + 1] = w & 0xff
  }

  private readWord(reg: number): number {
    if (reg >= RAM_START && reg <= RAM_END) return this.ram[reg - RAM_START]!
    if (reg >= EEPROM_START && reg <= EEPROM_END) return this.eeprom[reg - EEPROM_START]!
    if (reg === REG_STATUS) return this.status
    if (reg === REG_CONTROL1) return this.ctrl
    if (reg === REG_I2C_CONFIG) return this.i2cConfig
    return 0
  }

  private writeRegister(reg: number, value: number, now: number): void {
    if (reg === REG_STATUS) {
      // Bits 0..2 are the part's; data-ready can only be cleared by the controller.
      let s = this.status & STATUS_LAST_SUBPAGE_MASK
      if (value & STATUS_DATA_READY && this.status & STATUS_DATA_READY) s |= STATUS_DATA_READY
      s |= value & (STATUS_OVERWRITE_ENABLE | STATUS_START_MEASUREMENT)
      this.status = s
    } else if (reg === REG_CONTROL1) {
      const changed = (this.ctrl ^ value) & 0x1fff
      this.ctrl = value
      // A new configuration restarts the measurement sequence.
      if (changed) this.restartMeasurement(now)
    } else if (reg === REG_I2C_CONFIG) {
      this.i2cConfig = value
    }
  }

  private restartMeasurement(now: number): void {
    this.nextSubpage = 0
    this.nextCompleteMs = now + this.subpagePeriodMs
  }

  /** Measure every subpage that completed up to time `t`. */
  private advanceTo(t: number): void {
    if (t < this.nextCompleteMs) return
    const period = this.subpagePeriodMs
    const behind = Math.floor((t - this.nextCompleteMs) / period)
    if (behind > MAX_CATCH_UP_SUBPAGES) {
      // Long idle: the older subpages would be overwritten anyway; count them and skip ahead.
      const skip = behind - MAX_CATCH_UP_SUBPAGES
      this.measured += skip
      this.stats.subpagesMeasured += skip
      this.stats.subpagesOverrun += skip
      if (this.alternates()) this.nextSubpage ^= skip & 1
      this.nextCompleteMs += skip * period
    }
    while (this.nextCompleteMs <= t) {
      this.completeSubpage(this.nextSubpage, this.nextCompleteMs)
      if (this.alternates()) this.nextSubpage ^= 1
      this.nextCompleteMs += period
    }
  }

  private alternates(): boolean {
    return (this.ctrl & CTRL_SUBPAGE_MODE) !== 0 && (this.ctrl & CTRL_SUBPAGE_REPEAT) === 0
  }

  private completeSubpage(subpage: number, atMs: number): void {
    this.measured++
    this.stats.subpagesMeasured++
    if (this.ctrl & CTRL_DATA_HOLD && !(this.status & STATUS_OVERWRITE_ENABLE)) {
      this.stats.subpagesHeld++
      return
    }
    if (this.status & STATUS_DATA_READY) this.stats.subpagesOverrun++
    this.scene.render(
      { params: this.params, ctrl: this.ctrl, subpage, timeS: (atMs - this.startMs) / 1000, index: this.measured - 1 },
      this.staging,
    )
    const chess = (this.ctrl & CTRL_CHESS_MODE) !== 0
    for (let p = 0; p < PIXELS; p++) {
      if (pixelSubpage(p, chess) === subpage) this.ram[p] = this.staging[p]!
    }
    this.ram.set(this.staging.subarray(PIXELS, RAM_WORDS), AUX_START - RAM_START)
    this.status = (this.status & ~STATUS_LAST_SUBPAGE_MASK) | subpage | STATUS_DATA_READY
  }
}

function targetOf(register: number): FaultTarget {
  if (register >= RAM_START && register <= RAM_END) return 'ram'
  if (register >= EEPROM_START && register <= EEPROM_END) return 'eeprom'
  if (register === REG_STATUS) return 'status'
  if (register === REG_CONTROL1) return 'control'
  return 'any'
}
