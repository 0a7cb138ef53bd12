import t from 'tap'
import { VirtualClock } from '../src/clock.js'
import { Mlx90640Emulator } from '../src/emulator.js'
import { CTRL_DATA_HOLD, CTRL_DEFAULT, REG_CONTROL1, REG_STATUS } from '../src/registers.js'
import type { Scene, SceneContext } from '../src/scenes.js'
import { synthesizeEeprom } from '../src/synthesize.js'
import { addressBytes, bytesToWords, busTimeMs, wordsWithAddress } from '../src/transport.js'

const ADDR = 0x33
/** 16 Hz subpages (code 5), 18 bit, chess, subpage mode. */
const CTRL_16HZ = (CTRL_DEFAULT & ~0x0380) | (5 << 7)
const CTRL_64HZ = (CTRL_DEFAULT & ~0x0380) | (7 << 7)

/** Every pixel word holds the measurement index: shows which subpage wrote what, and when. */
class CounterScene implements Scene {
  render(ctx: SceneContext, out: Uint16Array): void {
    out.fill(ctx.index + 1, 0, 768)
    out.fill(0x1234, 768, 832)
  }
}

async function readWords(emu: Mlx90640Emulator, register: number, count: number): Promise<Uint16Array> {
  return bytesToWords(await emu.writeRead(ADDR, addressBytes(register), count * 2))
}
async function writeWord(emu: Mlx90640Emulator, register: number, value: number): Promise<void> {
  await emu.write(ADDR, wordsWithAddress(register, [value]))
}

t.test('EEPROM, registers, big-endian words at their addresses', async (t) => {
  const eeprom = synthesizeEeprom({ seed: 11 })
  const emu = new Mlx90640Emulator({ eeprom, clock: new VirtualClock() })
  t.same(await readWords(emu, 0x2400, 832), eeprom)
  const raw = await emu.writeRead(ADDR, addressBytes(0x2400 + 33), 2)
  t.same([raw[0], raw[1]], [eeprom[33]! >> 8, eeprom[33]! & 0xff], 'high byte first')
  t.equal((await readWords(emu, REG_CONTROL1, 1))[0], CTRL_DEFAULT, 'power-on control register')
  await writeWord(emu, REG_CONTROL1, CTRL_16HZ)
  t.equal((await readWords(emu, REG_CONTROL1, 1))[0], CTRL_16HZ)
  t.equal(emu.subpagePeriodMs, 62.5)
})

t.test('writes to read-only memory are refused and change nothing', async (t) => {
  const emu = new Mlx90640Emulator({ clock: new VirtualClock() })
  const before = (await readWords(emu, 0x2410, 1))[0]
  await t.rejects(writeWord(emu, 0x2410, 0x1234), { code: 'READ_ONLY' })
  await t.rejects(writeWord(emu, 0x0400, 0x1234), { code: 'READ_ONLY' })
  await t.rejects(emu.write(ADDR, wordsWithAddress(REG_CONTROL1 - 1, [1, 2])), { code: 'READ_ONLY' }, 'multi-word write touching RAM-less space')
  t.equal((await readWords(emu, 0x2410, 1))[0], before)
  t.equal((await readWords(emu, REG_CONTROL1, 1))[0], CTRL_DEFAULT)
  await t.rejects(emu.writeRead(0x34, addressBytes(0x2400), 2), { code: 'I2C_NACK' }, 'wrong address is not acknowledged')
  await t.rejects(emu.write(ADDR, Uint8Array.of(0x80)), { code: 'I2C_NACK' }, 'half an address')
})

t.test('the address is lost at a STOP: a read without repeated start gets junk', async (t) => {
  const emu = new Mlx90640Emulator({ clock: new VirtualClock() })
  await emu.write(ADDR, addressBytes(REG_CONTROL1)) // set the pointer, then STOP
  const junk = bytesToWords(await emu.read(ADDR, 2))
  t.not(junk[0], CTRL_DEFAULT)
  t.equal((await readWords(emu, REG_CONTROL1, 1))[0], CTRL_DEFAULT, 'the repeated-start read is right')
})

t.test('subpages at the refresh rate, alternating, each writing only its chess pattern', async (t) => {
  const clock = new VirtualClock()
  const emu = new Mlx90640Emulator({ clock, scene: new CounterScene(), busHz: 1_000_000 })
  await writeWord(emu, REG_CONTROL1, CTRL_16HZ)
  const status0 = (await readWords(emu, REG_STATUS, 1))[0]!
  t.equal(status0 & 0x8, 0, 'no data yet')
  clock.advance(62.5)
  const s1 = (await readWords(emu, REG_STATUS, 1))[0]!
  t.equal(s1 & 0x8, 0x8, 'data ready after one period')
  t.equal(s1 & 0x7, 0, 'subpage 0 first')
  const ram1 = await readWords(emu, 0x0400, 64)
  t.equal(ram1[0], 1, 'pixel (0,0) is in subpage 0')
  t.equal(ram1[1], 0x7fff, 'pixel (0,1) belongs to subpage 1: untouched')
  t.equal(ram1[33], 1, 'pixel (1,1) is in subpage 0')
  // Data ready stays set until the controller clears it; writing 1 does not set it.
  await writeWord(emu, REG_STATUS, 0x0010)
  t.equal((await readWords(emu, REG_STATUS, 1))[0]! & 0x8, 0)
  clock.advance(62.5)
  const s2 = (await readWords(emu, REG_STATUS, 1))[0]!
  t.equal(s2 & 0xf, 0x9, 'subpage 1, ready')
  const ram2 = await readWords(emu, 0x0400, 64)
  t.same([ram2[0], ram2[1], ram2[32], ram2[33]], [1, 2, 2, 1])
  t.equal(emu.stats.subpagesMeasured, 2)
  // Not clearing it: the next subpage overruns the unread one, and is counted.
  clock.advance(62.5)
  await readWords(emu, REG_STATUS, 1)
  t.equal(emu.stats.subpagesOverrun, 1)
})

t.test('interleaved mode writes whole rows', async (t) => {
  const clock = new VirtualClock()
  const emu = new Mlx90640Emulator({ clock, scene: new CounterScene() })
  await writeWord(emu, REG_CONTROL1, CTRL_16HZ & ~0x1000)
  clock.advance(62.5)
  const ram = await readWords(emu, 0x0400, 64)
  t.same([ram[0], ram[1], ram[32], ram[33]], [1, 1, 0x7fff, 0x7fff])
})

t.test('bus time is bytes x 9 / clock, at each speed', async (t) => {
  for (const hz of [100_000, 400_000, 1_000_000]) {
    const clock = new VirtualClock()
    const emu = new Mlx90640Emulator({ clock, busHz: hz })
    const t0 = clock.nowMs()
    await readWords(emu, 0x0400, 832)
    const expected = ((1 + 2 + 1 + 1664) * 9 * 1000) / hz
    t.ok(Math.abs(clock.nowMs() - t0 - expected) < 1e-9, `${hz} Hz: ${(clock.nowMs() - t0).toFixed(2)} ms`)
    t.equal(busTimeMs(1668, hz), expected)
  }
})

t.test('a slow read straddles two subpages unless data hold protects RAM', async (t) => {
  // 100 kHz: a full RAM read takes ~150 ms, longer than two 64 Hz periods (15.6 ms each).
  const clock = new VirtualClock()
  const emu = new Mlx90640Emulator({ clock, scene: new CounterScene(), busHz: 100_000 })
  await writeWord(emu, REG_CONTROL1, CTRL_64HZ)
  clock.advance(20)
  const torn = await readWords(emu, 0x0400, 768)
  t.ok(new Set(torn.filter((w) => w !== 0x7fff)).size > 2, 'words from several subpages in one read')

  await writeWord(emu, REG_CONTROL1, CTRL_64HZ | CTRL_DATA_HOLD)
  await writeWord(emu, REG_STATUS, 0x0010) // allow one transfer
  clock.advance(16)
  await writeWord(emu, REG_STATUS, 0x0000) // freeze RAM
  const held = await readWords(emu, 0x0400, 768)
  const heldSet = new Set(held)
  t.ok(emu.stats.subpagesHeld > 5, 'subpages measured during the read were held back')
  const again = await readWords(emu, 0x0400, 768)
  t.same(again, held, 'RAM did not change under hold')
  t.ok(heldSet.size <= 3, 'at most the two subpage values (plus unwritten) present')
})

t.test('injected faults: NACK, timeout, corrupted word, random rates', async (t) => {
  const clock = new VirtualClock()
  const emu = new Mlx90640Emulator({ clock, timeoutMs: 30 })
  emu.injectFault({ kind: 'nack', target: 'eeprom' })
  await t.rejects(readWords(emu, 0x2400, 4), { code: 'I2C_NACK' })
  const good = await readWords(emu, 0x2400, 4)
  const t0 = clock.nowMs()
  emu.injectFault({ kind: 'timeout' })
  await t.rejects(readWords(emu, 0x2400, 4), { code: 'I2C_TIMEOUT' })
  t.ok(clock.nowMs() - t0 >= 30, 'a timeout holds the bus')
  emu.injectFault({ kind: 'corrupt', word: 2, value: 0xdead })
  const bad = await readWords(emu, 0x2400, 4)
  t.same([bad[0], bad[1], bad[2], bad[3]], [good[0], good[1], 0xdead, good[3]])
  t.same(emu.stats.faults, { nack: 1, timeout: 1, corrupt: 1 })
  // Faults only hit their target.
  emu.injectFault({ kind: 'nack', target: 'status' })
  await readWords(emu, 0x2400, 1)
  await t.rejects(readWords(emu, REG_STATUS, 1), { code: 'I2C_NACK' })

  const flaky = new Mlx90640Emulator({ clock, faultRates: { nack: 0.2 }, seed: 3 })
  let failures = 0
  for (let i = 0; i < 200; i++) await readWords(flaky, REG_STATUS, 1).catch(() => failures++)
  t.ok(failures > 20 && failures < 70, `~20 % NACKs (${failures} / 200)`)
  await flaky.close()
  await t.rejects(readWords(flaky, REG_STATUS, 1), { code: 'I2C_IO' })
})

t.test('reads beyond the adapter limit are refused', async (t) => {
  const emu = new Mlx90640Emulator({ clock: new VirtualClock(), maxReadBytes: 64 })
  await t.rejects(readWords(emu, 0x0400, 64), { code: 'I2C_IO' })
  t.equal((await readWords(emu, 0x0400, 32)).length, 32)
})

t.test('long idle periods skip ahead instead of replaying every subpage', async (t) => {
  const clock = new VirtualClock()
  const emu = new Mlx90640Emulator({ clock, scene: new CounterScene() })
  await writeWord(emu, REG_CONTROL1, CTRL_16HZ)
  clock.advance(3600_000)
  await readWords(emu, REG_STATUS, 1)
  t.equal(emu.stats.subpagesMeasured, 57600)
  t.equal(emu.peek(0x0400), 57599, 'pixel (0,0) holds the last subpage-0 measurement (index 57598)')
})
