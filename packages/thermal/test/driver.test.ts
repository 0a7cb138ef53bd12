import t from 'tap'
import { pixelSubpage } from '../src/calibration.js'
import { VirtualClock } from '../src/clock.js'
import { Mlx90640, refreshCode } from '../src/driver.js'
import { Mlx90640Emulator } from '../src/emulator.js'
import { PIXELS, REG_CONTROL1 } from '../src/registers.js'
import { blobScene, RecordedScene, TemperatureScene } from '../src/scenes.js'
import { loadMelexisExample } from './fixtures.js'

const example = loadMelexisExample()

function rig(opts: ConstructorParameters<typeof Mlx90640Emulator>[0] = {}, driverOpts: ConstructorParameters<typeof Mlx90640>[1] = {}) {
  const clock = new VirtualClock()
  const emu = new Mlx90640Emulator({ clock, ...opts })
  const sensor = new Mlx90640(emu, { clock, ...driverOpts })
  return { clock, emu, sensor }
}

t.test('reads the Melexis frames through the emulator and reproduces their To', async (t) => {
  const { sensor, emu } = rig({
    eeprom: example.eeprom,
    scene: new RecordedScene(example.frames.map((f) => f.words)),
    busHz: 1_000_000,
  })
  await sensor.init()
  t.equal(sensor.ctrl, emu.peek(REG_CONTROL1), 'configured and verified')
  t.equal(sensor.ctrl & 0x1c00, 0x1800, 'chess, 18 bit')
  t.equal((sensor.ctrl >> 7) & 7, refreshCode(16))
  const image = new Float64Array(PIXELS)
  const seen: number[] = []
  for (let i = 0; i < 2; i++) {
    const read = await sensor.readSubpage()
    seen.push(read.subpage)
    const expected = example.frames[read.subpage]!
    const ta = sensor.computeTo(read.frame, image, 1)
    t.ok(Math.abs(ta - expected.ta) < 5e-5, `Ta ${ta}`)
    let worst = 0
    for (let p = 0; p < PIXELS; p++) {
      if (pixelSubpage(p, true) === read.subpage) worst = Math.max(worst, Math.abs(image[p]! - expected.to[p]!))
    }
    t.ok(worst <= 0.001, `subpage ${read.subpage}: worst ${worst.toFixed(6)} °C`)
  }
  t.same(seen, [0, 1], 'subpages alternate')
})

t.test('the RAM is read in one transaction when the adapter allows, in chunks otherwise', async (t) => {
  for (const [maxReadBytes, ramReads] of [[8192, 2], [256, 1 + 6], [32, 4 + 48]] as const) {
    const { sensor } = rig({ maxReadBytes })
    await sensor.init()
    const before = sensor.transactionCount
    const read = await sensor.readSubpage()
    // Status polls until ready, clear data-ready, aux read(s), status, pixel read(s), status.
    const polls = read.transactions - ramReads - 3
    t.ok(polls >= 1, `${maxReadBytes}-byte adapter: ${read.transactions} transactions, ${polls} status polls`)
    t.equal(sensor.transactionCount - before, read.transactions)
  }
})

t.test('recovers a synthetic blob within 0.5 °C', async (t) => {
  const scene = blobScene({ backgroundC: 22, blobC: 37, radius: 3, periodS: 0, center: [11, 15], ta: 29, noiseCounts: 0 })
  const { sensor } = rig({ scene })
  await sensor.init()
  const image = new Float32Array(PIXELS)
  for (let i = 0; i < 2; i++) {
    const { frame } = await sensor.readSubpage()
    sensor.computeTo(frame, image, 1)
  }
  let worst = 0
  for (let p = 0; p < PIXELS; p++) {
    const truth = scene.temperatureAt(Math.floor(p / 32), p % 32, 0)
    worst = Math.max(worst, Math.abs(image[p]! - truth))
  }
  t.ok(worst < 0.5, `worst pixel error ${worst.toFixed(3)} °C`)
  t.ok(Math.abs(image[11 * 32 + 15]! - 37) < 0.5, `blob centre ${image[11 * 32 + 15]!.toFixed(2)} °C`)
  t.ok(Math.abs(image[0]! - 22) < 0.5, `background ${image[0]!.toFixed(2)} °C`)
})

t.test('a moving blob is recovered where it was when each subpage was measured', async (t) => {
  const scene = blobScene({ backgroundC: 20, blobC: 40, radius: 3, periodS: 4, ta: 30, noiseCounts: 1.5, seed: 9 })
  const { sensor, clock } = rig({ scene, busHz: 1_000_000 }, { refreshHz: 32 })
  await sensor.init()
  const image = new Float32Array(PIXELS)
  const startMs = 0 // the emulator's measurement clock started with the virtual clock
  t.equal(clock.nowMs() > 10, true, 'init took bus time')
  let sumSq = 0
  let n = 0
  for (let i = 0; i < 40; i++) {
    const { frame, subpage, readyAtMs } = await sensor.readSubpage()
    sensor.computeTo(frame, image, 1)
    // The part finished the subpage at most one poll interval before we saw it.
    const timeS = (readyAtMs - startMs - 1) / 1000
    for (let p = 0; p < PIXELS; p++) {
      if (pixelSubpage(p, true) !== subpage) continue
      const truth = scene.temperatureAt(Math.floor(p / 32), p % 32, timeS)
      // Only judge pixels well inside or outside the blob: its edge moves within a poll interval.
      if (truth > 20.01 && truth < 39.99) continue
      sumSq += (image[p]! - truth) ** 2
      n++
    }
  }
  // 1.5 counts of noise is ~0.4 °C rms; a subpage attributed to the wrong time would be far worse.
  const rms = Math.sqrt(sumSq / n)
  t.ok(rms < 0.5, `rms error with 1.5-count noise ${rms.toFixed(3)} °C over ${n} pixels`)
})

t.test('without data hold, the next subpage landing mid-read leaves ours intact and is read next', async (t) => {
  // The scene warms 10 °C a second, so each subpage has its own temperature.
  const scene = new TemperatureScene((_r, _c, timeS) => 20 + 10 * timeS, { ta: 30 })
  const { sensor, clock, emu } = rig({ scene, busHz: 400_000 }, { refreshHz: 16, dataHold: false })
  await sensor.init()
  // Subpage 0 completes 62.5 ms after configuration; start reading it 40 ms late, so the
  // 38 ms read is still running when subpage 1 lands.
  const configuredAt = clock.nowMs()
  clock.advance(configuredAt + 62.5 + 40 - clock.nowMs())
  const image = new Float64Array(PIXELS).fill(NaN)
  const first = await sensor.readSubpage()
  t.equal(first.subpage, 0)
  t.equal(emu.stats.subpagesMeasured, 2, 'subpage 1 landed during the read')
  sensor.computeTo(first.frame, image, 1)
  const t0 = 20 + 10 * ((configuredAt - 0 + 62.5) / 1000)
  let worst = 0
  for (let p = 0; p < PIXELS; p++) if (pixelSubpage(p, true) === 0) worst = Math.max(worst, Math.abs(image[p]! - t0))
  t.ok(worst < 0.3, `subpage 0 pixels intact: worst ${worst.toFixed(3)} °C from ${t0.toFixed(3)}`)
  const before = clock.nowMs()
  const second = await sensor.readSubpage()
  t.equal(second.subpage, 1, 'subpage 1 was not lost')
  t.ok(second.readyAtMs - before < 1, 'and was ready at once')
})

t.test('without data hold, a read longer than a subpage period is discarded', async (t) => {
  const { sensor } = rig({ busHz: 100_000 }, { refreshHz: 64, dataHold: false })
  await sensor.init()
  await t.rejects(sensor.readSubpage(), { code: 'FRAME_INVALID', message: /overwritten/ })
})

t.test('with data hold the same slow read is intact', async (t) => {
  const { sensor } = rig({ busHz: 100_000 }, { refreshHz: 64, dataHold: true })
  await sensor.init()
  const read = await sensor.readSubpage()
  t.ok(read.subpage === 0 || read.subpage === 1)
})

t.test('corrupted aux words, missing data and bad settings give clear errors', async (t) => {
  const { sensor, emu } = rig()
  await sensor.init()
  // The aux block is read first (its own transaction): corrupt its VDD word (aux 42).
  emu.injectFault({ kind: 'corrupt', target: 'ram', word: 42, value: 0x7000 })
  await t.rejects(sensor.readSubpage(), { code: 'FRAME_INVALID', message: /supply voltage/ })
  emu.injectFault({ kind: 'corrupt', target: 'ram', word: 0, value: 0x7fff })
  await t.rejects(sensor.readSubpage(), { code: 'FRAME_INVALID', message: /never written/ })
  await t.rejects(sensor.readSubpage(undefined, undefined, 5), { code: 'NOT_READY' })
  t.throws(() => new Mlx90640(emu, { refreshHz: 10 }), { code: 'BAD_ARGUMENT' })
  t.throws(() => new Mlx90640(emu, { resolution: 20 }), { code: 'BAD_ARGUMENT' })
  t.throws(() => new Mlx90640(emu).params, { code: 'BAD_ARGUMENT' })
})

t.test('a control register write that does not stick is reported', async (t) => {
  const clock = new VirtualClock()
  const emu = new Mlx90640Emulator({ clock })
  // A bus that acknowledges writes to control register 1 but drops them, as a miswired part might.
  const dropsControlWrites = {
    maxReadBytes: emu.maxReadBytes,
    clockHz: emu.clockHz,
    writeRead: (addr: number, w: Uint8Array, n: number) => emu.writeRead(addr, w, n),
    write: async (addr: number, data: Uint8Array) => {
      if (data[0] === 0x80 && data[1] === 0x0d) return
      await emu.write(addr, data)
    },
    close: () => emu.close(),
  }
  const sensor = new Mlx90640(dropsControlWrites, { clock })
  await t.rejects(sensor.init(), { code: 'CONFIG_MISMATCH', message: /did not take/ })
})
