// The real bus: /dev/i2c-N on Linux (Raspberry Pi: bus 1 on GPIO 2/3).
//
// i2c-bus opens and owns the bus, checks the adapter can do plain I²C (I2C_FUNC_I2C) and
// carries the plain writes. It has no combined write-then-read with a repeated start,
// which the MLX90640 needs (it forgets the register address at a STOP), so that one
// transaction goes through the I2C_RDWR ioctl in our native crate (@heart/native:
// i2cWriteRead). We chose the native crate over ffi-rs because the crate is already built
// and shipped with heart, and an ioctl taking an array of i2c_msg structs with raw buffer
// pointers is easy to get subtly wrong from JS-side FFI; in Rust it is a few checked lines.
// i2c-bus keeps its file descriptors private, so this transport opens one descriptor of
// its own for I2C_RDWR (the kernel serialises transfers on an adapter either way).
//
// Both modules are loaded lazily, only when a real bus is configured, so the emulator
// (the default) works on machines without them.
import { closeSync, openSync, readFileSync } from 'node:fs'
import { loadNative, type HeartNative } from '@heart/kernel'
import { ThermalError } from './errors.js'
import type { I2cTransport } from './transport.js'

/** What we use of i2c-bus. */
interface I2cBusModule {
  openSync(busNumber: number, options?: { forceAccess?: boolean }): I2cBusHandle
}
interface I2cBusHandle {
  i2cFuncsSync(): { i2c: boolean }
  i2cWriteSync(addr: number, length: number, buffer: Buffer): number
  closeSync(): void
}
/** What we use of @heart/native (typed from the addon's own declarations). */
type NativeI2c = Pick<HeartNative, 'i2cWriteRead'> & Partial<Pick<HeartNative, 'i2cWrite'>>

export interface LinuxI2cOptions {
  /** Bus clock for health and budgets; read from the device tree when not given. */
  clockHz?: number
  /** Largest read per transaction: i2c-dev allows 8192 bytes per message. */
  maxReadBytes?: number
  /** Talk to the address even if a kernel driver claimed it (I2C_SLAVE_FORCE). */
  forceAccess?: boolean
}

/** Seams for tests: the real loaders by default. */
export interface LinuxI2cDeps {
  loadI2cBus(): Promise<I2cBusModule>
  loadNative(): Promise<NativeI2c>
  openDevice(path: string): number
  closeDevice(fd: number): void
  readClockHz(bus: number): number | null
}

// A specifier in a variable: TypeScript does not try to resolve the optional module at build time.
const I2C_BUS_MODULE = 'i2c-bus'

const defaultDeps: LinuxI2cDeps = {
  async loadI2cBus() {
    const mod = (await import(I2C_BUS_MODULE)) as { default?: I2cBusModule } & I2cBusModule
    return mod.default ?? mod
  },
  // The shared loader refuses a missing or stale addon with NATIVE_UNAVAILABLE; openLinuxI2c says which bus needed it.
  loadNative: () => loadNative(['i2cWriteRead']),
  openDevice: (path) => openSync(path, 'r+'),
  closeDevice: (fd) => closeSync(fd),
  readClockHz(bus) {
    // The Raspberry Pi device tree publishes the configured rate as a big-endian u32.
    try {
      const raw = readFileSync(`/sys/class/i2c-adapter/i2c-${bus}/of_node/clock-frequency`)
      return raw.length >= 4 ? raw.readUInt32BE(0) : null
    } catch {
      return null
    }
  },
}

export async function openLinuxI2c(bus: number, opts: LinuxI2cOptions = {}, deps: LinuxI2cDeps = defaultDeps): Promise<I2cTransport> {
  if (!Number.isInteger(bus) || bus < 0) throw new ThermalError('BAD_ARGUMENT', `I²C bus must be a number like 1 (for /dev/i2c-1); got ${String(bus)}`)
  const path = `/dev/i2c-${bus}`
  let i2cBus: I2cBusModule
  let native: NativeI2c
  try {
    i2cBus = await deps.loadI2cBus()
  } catch (error) {
    throw new ThermalError('I2C_IO', `cannot load i2c-bus (needed for ${path}): ${(error as Error).message}. Install it: it builds with node-gyp at install time.`, { cause: error })
  }
  try {
    native = await deps.loadNative()
  } catch (error) {
    throw new ThermalError('I2C_IO', `cannot load @heart/native (needed for repeated-start reads on ${path}): ${(error as Error).message}`, { cause: error })
  }
  let handle: I2cBusHandle
  try {
    handle = i2cBus.openSync(bus, { forceAccess: opts.forceAccess ?? false })
    if (!handle.i2cFuncsSync().i2c) {
      handle.closeSync()
      throw new Error('the adapter only speaks SMBus; the MLX90640 needs plain I²C transfers (I2C_FUNC_I2C)')
    }
  } catch (error) {
    throw mapErrno(error, `cannot open ${path}`, path)
  }
  let fd: number
  try {
    fd = deps.openDevice(path)
  } catch (error) {
    handle.closeSync()
    throw mapErrno(error, `cannot open ${path}`, path)
  }
  return new LinuxI2cTransport(path, handle, native, fd, opts.clockHz ?? deps.readClockHz(bus) ?? 100_000, opts.maxReadBytes ?? 8192, deps)
}

class LinuxI2cTransport implements I2cTransport {
  private closed = false

  constructor(
    private readonly path: string,
    private readonly handle: I2cBusHandle,
    private readonly native: NativeI2c,
    private readonly fd: number,
    readonly clockHz: number,
    readonly maxReadBytes: number,
    private readonly deps: LinuxI2cDeps,
  ) {}

  async writeRead(addr: number, write: Uint8Array, readLen: number): Promise<Uint8Array> {
    this.checkOpen()
    try {
      return this.native.i2cWriteRead(this.fd, addr, write, readLen)
    } catch (error) {
      throw mapErrno(error, `read of ${readLen} bytes from 0x${addr.toString(16)} failed`, this.path)
    }
  }

  async write(addr: number, data: Uint8Array): Promise<void> {
    this.checkOpen()
    try {
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      const n = this.handle.i2cWriteSync(addr, buf.length, buf)
      if (n !== buf.length) throw Object.assign(new Error(`short write: ${n} of ${buf.length} bytes`), { code: 'EIO' })
    } catch (error) {
      throw mapErrno(error, `write of ${data.length} bytes to 0x${addr.toString(16)} failed`, this.path)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.deps.closeDevice(this.fd)
    this.handle.closeSync()
  }

  private checkOpen(): void {
    if (this.closed) throw new ThermalError('I2C_IO', `${this.path} is closed`)
  }
}

/** Linux errno -> our codes: no acknowledge, timeout, or anything else on the bus. */
function mapErrno(error: unknown, what: string, path: string): ThermalError {
  if (error instanceof ThermalError) return error
  const code = (error as { code?: string })?.code ?? ''
  const detail = (error as Error)?.message ?? String(error)
  // errno codes come from i2c-bus (Node fs errors); I2C_ERROR / TIMEOUT from @heart/native.
  const nativeNack = code === 'I2C_ERROR' && /no acknowledge/.test(detail)
  if (code === 'ENXIO' || code === 'EREMOTEIO' || code === 'I2C_NACK' || nativeNack) {
    return new ThermalError('I2C_NACK', `${what}: no acknowledge (${code}). Check wiring, power and the address (i2cdetect -y 1 should show 33).`, { cause: error })
  }
  if (code === 'ETIMEDOUT' || code === 'I2C_TIMEOUT' || code === 'TIMEOUT') {
    return new ThermalError('I2C_TIMEOUT', `${what}: timed out (${code}); a slave may be holding SDA low, or the clock is stretched too long.`, { cause: error })
  }
  if (code === 'ENOENT') {
    return new ThermalError('I2C_IO', `${what}: ${path} does not exist. Enable I²C (raspi-config, or dtparam=i2c_arm=on in config.txt) and check the bus number.`, { cause: error })
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ThermalError('I2C_IO', `${what}: permission denied on ${path}. Add the user to the i2c group.`, { cause: error })
  }
  return new ThermalError('I2C_IO', `${what}: ${detail}`, { cause: error })
}
