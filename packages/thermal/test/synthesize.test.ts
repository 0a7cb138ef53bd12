import t from 'tap'
import { calculateTo, extractParameters, getTa, getVdd, pixelSubpage } from '../src/calibration.js'
import { CTRL_DEFAULT, PIXELS } from '../src/registers.js'
import { prng, synthesizeEeprom, synthesizeFrame } from '../src/synthesize.js'
import { loadMelexisExample } from './fixtures.js'

t.test('the synthetic EEPROM is a valid part with plausible parameters', async (t) => {
  const p = extractParameters(synthesizeEeprom())
  t.equal(p.resolutionEE, 2)
  t.equal(p.calibrationModeEE, 0x80, 'calibrated in chess mode')
  t.same(Array.from(p.ct.subarray(0, 4)), [-40, 0, 300, 500])
  t.ok(p.KtPTAT > 40 && p.KtPTAT < 45)
  t.same(p.brokenPixels, [])
  // Different seeds give different parts; the same seed the same one.
  t.same(synthesizeEeprom({ seed: 3 }), synthesizeEeprom({ seed: 3 }))
  t.notSame(synthesizeEeprom({ seed: 3 }), synthesizeEeprom({ seed: 4 }))
  const bad = extractParameters(synthesizeEeprom({ broken: [100], outliers: [300] }))
  t.same(bad.brokenPixels, [100])
  t.same(bad.outlierPixels, [300])
})

for (const [name, eeprom] of [
  ['synthetic part', synthesizeEeprom()],
  ['Melexis part', loadMelexisExample().eeprom],
] as const) {
  t.test(`inverting the calibration recovers the temperatures (${name})`, async (t) => {
    const params = extractParameters(eeprom)
    const rand = prng(5)
    for (const chess of [true, false]) {
      const ctrl = chess ? CTRL_DEFAULT : CTRL_DEFAULT & ~0x1000
      const temps = Float64Array.from({ length: PIXELS }, () => -20 + rand() * 220)
      const out = new Float64Array(PIXELS)
      for (const subpage of [0, 1]) {
        const frame = synthesizeFrame(params, ctrl, subpage, temps, { ta: 31.5, vdd: 3.28, emissivity: 0.95, tr: 23.5 })
        t.ok(Math.abs(getTa(frame, params) - 31.5) < 0.01, 'Ta as asked')
        t.ok(Math.abs(getVdd(frame, params) - 3.28) < 0.001, 'Vdd as asked')
        calculateTo(frame, params, 0.95, 23.5, out)
      }
      let worst = 0
      let sum = 0
      for (let i = 0; i < PIXELS; i++) {
        worst = Math.max(worst, Math.abs(out[i]! - temps[i]!))
        sum += out[i]! - temps[i]!
      }
      // Raw words are integers: one ADC count is ~0.25 °C at room temperature (~0.4 °C at
      // -20 °C, less when hot), so rounding costs up to half that per pixel and nothing on average.
      t.ok(worst < 0.25, `${chess ? 'chess' : 'interleaved'}: worst error ${worst.toFixed(4)} °C`)
      t.ok(Math.abs(sum / PIXELS) < 0.02, `mean error ${(sum / PIXELS).toFixed(4)} °C`)
      t.ok(pixelSubpage(1, chess) === (chess ? 1 : 0))
    }
  })
}

t.test('noise is added in ADC counts and is repeatable', async (t) => {
  const params = extractParameters(synthesizeEeprom())
  const temps = new Float64Array(PIXELS).fill(25)
  const a = synthesizeFrame(params, CTRL_DEFAULT, 0, temps, { ta: 30, vdd: 3.3, emissivity: 1, tr: 22, noiseCounts: 3, rand: prng(1) })
  const b = synthesizeFrame(params, CTRL_DEFAULT, 0, temps, { ta: 30, vdd: 3.3, emissivity: 1, tr: 22, noiseCounts: 3, rand: prng(1) })
  const c = synthesizeFrame(params, CTRL_DEFAULT, 0, temps, { ta: 30, vdd: 3.3, emissivity: 1, tr: 22 })
  t.same(a, b)
  t.notSame(a, c)
  t.throws(() => synthesizeFrame(params, CTRL_DEFAULT, 0, new Float64Array(3), { ta: 30, vdd: 3.3, emissivity: 1, tr: 22 }), {
    code: 'BAD_ARGUMENT',
  })
})
