import t from 'tap'
import { openLinuxI2c, type LinuxI2cDeps } from '../src/linux-transport.js'

function fakes(overrides: Partial<LinuxI2cDeps> = {}) {
  const calls: string[] = []
  const deps: LinuxI2cDeps = {
    loadI2cBus: async () => ({
      openSync: (bus: number) => {
        calls.push(`open ${bus}`)
        return {
          i2cFuncsSync: () => ({ i2c: true }),
          i2cWriteSync: (addr: number, len: number, buf: Buffer) => {
            calls.push(`write 0x${addr.toString(16)} ${buf.subarray(0, len).toString('hex')}`)
            return len
          },
          closeSync: () => calls.push('close bus'),
        }
      },
    }),
    loadNative: async () => ({
      i2cWriteRead: (fd: number, addr: number, write: Uint8Array, readLen: number) => {
        calls.push(`rdwr fd${fd} 0x${addr.toString(16)} ${Buffer.from(write).toString('hex')} ${readLen}`)
        return Buffer.alloc(readLen, 0xab)
      },
    }),
    openDevice: (path) => {
      calls.push(`fd ${path}`)
      return 42
    },
    closeDevice: (fd) => calls.push(`close fd${fd}`),
    readClockHz: () => 1_000_000,
    ...overrides,
  }
  return { deps, calls }
}

t.test('combined reads go through I2C_RDWR, writes through i2c-bus', async (t) => {
  const { deps, calls } = fakes()
  const bus = await openLinuxI2c(1, {}, deps)
  t.equal(bus.clockHz, 1_000_000, 'clock from the device tree')
  t.equal(bus.maxReadBytes, 8192)
  const data = await bus.writeRead(0x33, Uint8Array.of(0x80, 0x0d), 2)
  t.same(Array.from(data), [0xab, 0xab])
  await bus.write(0x33, Uint8Array.of(0x80, 0x00, 0x00, 0x10))
  await bus.close()
  await bus.close()
  t.same(calls, ['open 1', 'fd /dev/i2c-1', 'rdwr fd42 0x33 800d 2', 'write 0x33 80000010', 'close fd42', 'close bus'])
  await t.rejects(bus.writeRead(0x33, Uint8Array.of(0, 0), 2), { code: 'I2C_IO', message: /closed/ })
})

t.test('errno values and native error codes become NACK / timeout / I/O errors with advice', async (t) => {
  const failing = (code: string, message = code) =>
    fakes({
      loadNative: async () => ({
        i2cWriteRead: () => {
          throw Object.assign(new Error(message), { code })
        },
      }),
    }).deps
  const nativeNack = 'I2C transfer to 0x33 failed: no acknowledge from the device: check the address, wiring and power (os error 121)'
  for (const [errno, ours, message] of [
    ['EREMOTEIO', 'I2C_NACK'],
    ['ENXIO', 'I2C_NACK'],
    ['ETIMEDOUT', 'I2C_TIMEOUT'],
    ['EIO', 'I2C_IO'],
    ['I2C_ERROR', 'I2C_NACK', nativeNack],
    ['I2C_ERROR', 'I2C_IO', 'I2C transfer to 0x33 failed: bus arbitration lost: retry'],
    ['TIMEOUT', 'I2C_TIMEOUT'],
  ] as const) {
    const bus = await openLinuxI2c(1, { clockHz: 400_000 }, failing(errno, message))
    t.equal(bus.clockHz, 400_000)
    await t.rejects(bus.writeRead(0x33, Uint8Array.of(0x24, 0), 2), { code: ours }, errno)
  }
})

t.test('clear errors when modules, the device or I²C support are missing', async (t) => {
  await t.rejects(openLinuxI2c(-1), { code: 'BAD_ARGUMENT' })
  await t.rejects(
    openLinuxI2c(1, {}, fakes({ loadNative: async () => Promise.reject(new Error('Cannot find package')) }).deps),
    { code: 'I2C_IO', message: /@heart\/native/ },
  )
  await t.rejects(
    openLinuxI2c(1, {}, fakes({ loadI2cBus: async () => Promise.reject(new Error('Cannot find package')) }).deps),
    { code: 'I2C_IO', message: /i2c-bus/ },
  )
  const smbusOnly = fakes({
    loadI2cBus: async () => ({
      openSync: () => ({ i2cFuncsSync: () => ({ i2c: false }), i2cWriteSync: () => 0, closeSync: () => undefined }),
    }),
  }).deps
  await t.rejects(openLinuxI2c(1, {}, smbusOnly), { code: 'I2C_IO', message: /SMBus/ })
  const noDevice = fakes({
    openDevice: () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
    },
  }).deps
  await t.rejects(openLinuxI2c(7, {}, noDevice), { code: 'I2C_IO', message: /dtparam=i2c_arm=on/ })
})

// Optional pieces: found once up front, so a missing one shows as a skip with its reason, never as a pass.
const i2cBusModule = await import('i2c-bus' as string).then(
  (mod) => (mod as { default: Awaited<ReturnType<LinuxI2cDeps['loadI2cBus']>> }).default,
  () => null,
)
const nativeModule = await import('@heart/native').then(
  (mod) => (typeof mod.i2cWriteRead === 'function' ? (mod as Awaited<ReturnType<LinuxI2cDeps['loadNative']>>) : null),
  () => null,
)

t.test('the real i2c-bus module loads and reports a bus that does not exist', {
  skip: i2cBusModule ? false : 'i2c-bus is an optional dependency and is not installed here',
}, async (t) => {
  const { deps } = fakes()
  const realI2cBus: LinuxI2cDeps['loadI2cBus'] = async () => i2cBusModule!
  await t.rejects(openLinuxI2c(97, {}, { ...deps, loadI2cBus: realI2cBus }), { code: 'I2C_IO', message: /\/dev\/i2c-97 does not exist/ })
})

t.test('the real native I2C_RDWR call is reached and its errors are mapped', {
  skip: nativeModule ? false : '@heart/native is not built here (pnpm run build:native)',
}, async (t) => {
  const native = nativeModule!
  const { openSync, closeSync } = await import('node:fs')
  const { deps } = fakes({
    loadNative: async () => native,
    // /dev/null is no I²C adapter: the ioctl must fail, and say so.
    openDevice: () => openSync('/dev/null', 'r+'),
    closeDevice: (fd) => closeSync(fd),
  })
  const bus = await openLinuxI2c(1, {}, deps)
  await t.rejects(bus.writeRead(0x33, Uint8Array.of(0x80, 0x0d), 2), { code: 'I2C_IO', message: /not an I2C bus/ })
  await bus.close()
})
