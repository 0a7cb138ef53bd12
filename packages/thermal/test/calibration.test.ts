import t from 'tap'
import { calculateTo, extractParameters, getTa, getVdd, pixelsAdjacent, pixelSubpage } from '../src/calibration.js'
import { PIXELS } from '../src/registers.js'
import { loadMelexisExample } from './fixtures.js'

const example = loadMelexisExample()

t.test('extracts the parameters Melexis lists for its example EEPROM', async (t) => {
  const p = extractParameters(example.eeprom)
  t.equal(p.kVdd, -3200)
  t.equal(p.vdd25, -12544)
  t.equal(p.KtPTAT, 42.625)
  t.equal(p.vPTAT25, 12196)
  t.equal(p.alphaPTAT, 9)
  t.equal(p.gainEE, 5580)
  t.equal(p.resolutionEE, 2)
  t.same(Array.from(p.cpOffset), [-69, -65])
  t.same(Array.from(p.ilChessC), [0.5, 3.5, 0])
  t.same(Array.from(p.ct.subarray(0, 4)), [-40, 0, 300, 500])
  t.equal(p.alphaScale, 10)
  t.equal(p.ktaScale, 13)
  t.equal(p.kvScale, 8)
  t.same(p.brokenPixels, [])
  t.same(p.outlierPixels, [])
})

t.test('reproduces Vdd, Ta and every To of both example frames within 0.001 °C', async (t) => {
  const p = extractParameters(example.eeprom)
  // Melexis computed frame 1 into the same array as frame 0, so the two halves combine.
  const out = new Float64Array(PIXELS)
  for (const frame of example.frames) {
    t.equal(frame.words[833], frame.subpage)
    t.ok(Math.abs(getVdd(frame.words, p) - frame.vdd) < 1e-6, `vdd ${getVdd(frame.words, p)} vs ${frame.vdd}`)
    const ta = getTa(frame.words, p)
    // The reference figures were computed in single precision: Ta agrees to ~1e-5 °C.
    t.ok(Math.abs(ta - frame.ta) < 5e-5, `ta ${ta} vs ${frame.ta}`)
    const tr = ta - 8
    t.equal(calculateTo(frame.words, p, 1, tr, out), ta)
    let worst = 0
    let worstPixel = -1
    for (let i = 0; i < PIXELS; i++) {
      const err = Math.abs(out[i]! - frame.to[i]!)
      if (err > worst) {
        worst = err
        worstPixel = i
      }
    }
    t.ok(worst <= 0.001, `subpage ${frame.subpage}: worst error ${worst.toFixed(6)} °C at pixel ${worstPixel}`)
  }
})

t.test('writes only the pixels of the frame subpage (chess pattern)', async (t) => {
  const p = extractParameters(example.eeprom)
  const out = new Float32Array(PIXELS).fill(-999)
  calculateTo(example.frames[0]!.words, p, 1, 25, out)
  let written = 0
  for (let i = 0; i < PIXELS; i++) {
    if (pixelSubpage(i, true) === 0) {
      t.not(out[i], -999)
      written++
    } else if (out[i] !== -999) t.fail(`pixel ${i} of subpage 1 was written`)
  }
  t.equal(written, 384)
})

t.test('interleaved mode selects rows and applies the pattern correction', async (t) => {
  const p = extractParameters(example.eeprom)
  const frame = example.frames[0]!.words.slice()
  frame[832] = frame[832]! & ~0x1000 // interleaved
  const out = new Float64Array(PIXELS).fill(NaN)
  calculateTo(frame, p, 1, 25, out)
  for (let i = 0; i < PIXELS; i++) {
    const row = Math.floor(i / 32)
    if (row % 2 === 0) t.ok(Number.isFinite(out[i]), `row ${row} written`)
    else if (!Number.isNaN(out[i])) t.fail(`pixel ${i} of an odd row written`)
    if (i > 70) break
  }
})

t.test('rejects bad input with clear errors', async (t) => {
  const p = extractParameters(example.eeprom)
  t.throws(() => extractParameters(new Uint16Array(100)), { code: 'EEPROM_LENGTH' })
  t.throws(() => extractParameters(new Uint16Array(832)), { code: 'EEPROM_INVALID' })
  t.throws(() => getVdd(new Uint16Array(10), p), { code: 'FRAME_LENGTH' })
  t.throws(() => calculateTo(example.frames[0]!.words, p, 1, 25, new Float32Array(10)), { code: 'OUT_LENGTH' })
  const selected = example.eeprom.slice()
  selected[10] = selected[10]! | 0x0040
  t.throws(() => extractParameters(selected), { code: 'EEPROM_INVALID' })
})

t.test('broken and outlier pixels: limits, adjacency, interpolation', async (t) => {
  const five = example.eeprom.slice()
  for (const px of [0, 100, 200, 300, 400]) five[64 + px] = 0
  t.throws(() => extractParameters(five), { code: 'TOO_MANY_BAD_PIXELS' })

  const adjacent = example.eeprom.slice()
  adjacent[64 + 40] = 0
  adjacent[64 + 40 + 33] = adjacent[64 + 40 + 33]! | 1 // diagonal neighbour marked outlier
  t.throws(() => extractParameters(adjacent), { code: 'ADJACENT_BAD_PIXELS' })
  t.ok(pixelsAdjacent(40, 73))
  t.notOk(pixelsAdjacent(40, 42))

  const oneBroken = example.eeprom.slice()
  const bad = 5 * 32 + 10 // row 5, column 10: subpage 1 in chess
  oneBroken[64 + bad] = 0
  const p = extractParameters(oneBroken)
  t.same(p.brokenPixels, [bad])
  const out = new Float64Array(PIXELS)
  calculateTo(example.frames[1]!.words, p, 1, 25, out)
  const neighbours = [bad - 33, bad - 31, bad + 31, bad + 33].map((q) => out[q]!)
  const mean = neighbours.reduce((a, b) => a + b, 0) / 4
  t.ok(Math.abs(out[bad]! - mean) < 1e-9, 'broken pixel is the mean of its diagonal neighbours')
})
