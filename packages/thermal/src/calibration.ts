// MLX90640 calibration math: EEPROM -> parameters, frame -> Vdd, Ta, To.
//
// Pure and synchronous, in double precision. The formulas follow the MLX90640 datasheet
// (section 11, "Calculating object temperature"); per-pixel alpha, Kta and Kv are stored
// as the small integers plus power-of-two scales that Melexis's reference driver uses,
// because the reference To values (and so our test vectors) carry that quantisation.
import {
  adjacentBadPixelsError,
  eepromInvalidError,
  eepromLengthError,
  frameLengthError,
  outLengthError,
  tooManyBadPixelsError,
} from './errors.js'
import { AUX_CP_SP0, AUX_CP_SP1, AUX_GAIN, AUX_PTAT, AUX_VBE, AUX_VDD, COLS, CTRL_CHESS_MODE, CTRL_RESOLUTION_MASK, CTRL_RESOLUTION_SHIFT, EEPROM_WORDS, FRAME_CTRL_INDEX, FRAME_SUBPAGE_INDEX, FRAME_WORDS, PIXELS, ROWS } from './registers.js'

/** The alpha values are stored as 1e-6 / alpha: the reference driver's SCALEALPHA. */
const SCALE_ALPHA = 0.000001
/** Kelvin offset used by the datasheet's formulas. */
const KELVIN = 273.15
/** At most this many broken + outlier pixels are allowed by the specification. */
const MAX_DEVIATING_PIXELS = 4

export interface Mlx90640Params {
  kVdd: number
  vdd25: number
  KvPTAT: number
  KtPTAT: number
  vPTAT25: number
  alphaPTAT: number
  gainEE: number
  tgc: number
  cpKv: number
  cpKta: number
  resolutionEE: number
  /** 0x80 when the part was calibrated in chess mode, 0 for interleaved (the control register bit 12, shifted like the reference). */
  calibrationModeEE: number
  KsTa: number
  /** KsTo for the five temperature ranges split at ct. */
  ksTo: Float64Array
  /** Corner temperatures of the KsTo ranges, °C: [-40, 0, ct2, ct3, 400]. */
  ct: Int16Array
  /** Compensation pixel alpha and offset, subpages 0 and 1. */
  cpAlpha: Float64Array
  cpOffset: Int16Array
  /** Interleaved / chess corrections: [ilChessC1, ilChessC2, ilChessC3]. */
  ilChessC: Float64Array
  /** Per-pixel 1e-6 / alpha, as unsigned integers scaled by 2^alphaScale. */
  alpha: Uint16Array
  alphaScale: number
  offset: Int16Array
  /** Per-pixel Kta and Kv as signed integers scaled by 2^ktaScale / 2^kvScale. */
  kta: Int8Array
  ktaScale: number
  kv: Int8Array
  kvScale: number
  brokenPixels: number[]
  outlierPixels: number[]
}

/** Sign-extend the low `bits` bits of `value`. */
function signed(value: number, bits: number): number {
  const half = 1 << (bits - 1)
  return value >= half ? value - (1 << bits) : value
}

function nibbles(ee: Uint16Array, first: number, count: number): Int8Array {
  const out = new Int8Array(count * 4)
  for (let i = 0; i < count; i++) {
    const w = ee[first + i]!
    for (let k = 0; k < 4; k++) out[i * 4 + k] = signed((w >> (4 * k)) & 0xf, 4)
  }
  return out
}

/** Row parity * 2 + column parity: which of the four Kta / Kv row-column groups a pixel is in. */
function rowColumnGroup(pixel: number): number {
  return 2 * (Math.floor(pixel / COLS) % 2) + (pixel % 2)
}

/**
 * Extract every calibration parameter from an 832-word EEPROM dump (0x2400..0x273F).
 * Throws a ThermalError when the dump is the wrong size, fails the device check, or
 * marks too many / adjacent bad pixels.
 */
export function extractParameters(eeprom: Uint16Array): Mlx90640Params {
  if (eeprom.length !== EEPROM_WORDS) throw eepromLengthError(eeprom.length)
  const ee = eeprom
  // The reference driver refuses a dump whose device-select bit (word 10, bit 6) is set.
  if ((ee[10]! & 0x0040) !== 0) throw eepromInvalidError('device-select bit (0x240A bit 6) is set')
  if (ee.every((w) => w === 0) || ee.every((w) => w === 0xffff)) {
    throw eepromInvalidError('every word is the same (0x0000 or 0xFFFF): the bus returned no data')
  }

  // Supply voltage.
  const kVdd = signed((ee[51]! >> 8) & 0xff, 8) * 32
  const vdd25 = (((ee[51]! & 0xff) - 256) << 5) - 8192

  // PTAT (ambient) sensor.
  const KvPTAT = signed((ee[50]! >> 10) & 0x3f, 6) / 4096
  const KtPTAT = signed(ee[50]! & 0x3ff, 10) / 8
  const vPTAT25 = signed(ee[49]!, 16)
  const alphaPTAT = ((ee[16]! >> 12) & 0xf) / 4 + 8

  const gainEE = signed(ee[48]!, 16)
  const tgc = signed(ee[60]! & 0xff, 8) / 32
  const resolutionEE = (ee[56]! >> 12) & 0x3
  const KsTa = signed((ee[60]! >> 8) & 0xff, 8) / 8192

  // KsTo and its corner temperatures.
  const step = ((ee[63]! >> 12) & 0x3) * 10
  const ct = new Int16Array(5)
  ct[0] = -40
  ct[1] = 0
  ct[2] = ((ee[63]! >> 4) & 0xf) * step
  ct[3] = ct[2]! + ((ee[63]! >> 8) & 0xf) * step
  ct[4] = 400
  const ksToScale = 2 ** ((ee[63]! & 0xf) + 8)
  const ksTo = new Float64Array(5)
  ksTo[0] = signed(ee[61]! & 0xff, 8) / ksToScale
  ksTo[1] = signed((ee[61]! >> 8) & 0xff, 8) / ksToScale
  ksTo[2] = signed(ee[62]! & 0xff, 8) / ksToScale
  ksTo[3] = signed((ee[62]! >> 8) & 0xff, 8) / ksToScale
  ksTo[4] = -0.0002

  // Compensation pixel.
  const cpAlphaScale = 2 ** (((ee[32]! >> 12) & 0xf) + 27)
  const cpOffset = new Int16Array(2)
  cpOffset[0] = signed(ee[58]! & 0x3ff, 10)
  cpOffset[1] = signed((ee[58]! >> 10) & 0x3f, 6) + cpOffset[0]!
  const cpAlpha = new Float64Array(2)
  cpAlpha[0] = signed(ee[57]! & 0x3ff, 10) / cpAlphaScale
  cpAlpha[1] = (1 + signed((ee[57]! >> 10) & 0x3f, 6) / 128) * cpAlpha[0]!
  const ktaScale1 = ((ee[56]! >> 4) & 0xf) + 8
  const ktaScale2 = ee[56]! & 0xf
  const kvScaleEE = (ee[56]! >> 8) & 0xf
  const cpKta = signed(ee[59]! & 0xff, 8) / 2 ** ktaScale1
  const cpKv = signed((ee[59]! >> 8) & 0xff, 8) / 2 ** kvScaleEE

  // Interleaved / chess corrections and the mode the part was calibrated in.
  const ilChessC = new Float64Array(3)
  ilChessC[0] = signed(ee[53]! & 0x3f, 6) / 16
  ilChessC[1] = signed((ee[53]! >> 6) & 0x1f, 5) / 2
  ilChessC[2] = signed((ee[53]! >> 11) & 0x1f, 5) / 8
  const calibrationModeEE = ((ee[10]! & 0x0800) >> 4) ^ 0x80

  // Per-pixel alpha: reference + row + column + remainder, then stored as 1e-6 / alpha.
  const accRemScale = ee[32]! & 0xf
  const accColumnScale = (ee[32]! >> 4) & 0xf
  const accRowScale = (ee[32]! >> 8) & 0xf
  const alphaEEScale = 2 ** (((ee[32]! >> 12) & 0xf) + 30)
  const alphaRef = ee[33]!
  const accRow = nibbles(ee, 34, 6)
  const accColumn = nibbles(ee, 40, 8)
  const alphaTemp = new Float64Array(PIXELS)
  const cpAlphaMean = (cpAlpha[0]! + cpAlpha[1]!) / 2
  for (let p = 0; p < PIXELS; p++) {
    const row = Math.floor(p / COLS)
    const col = p % COLS
    const rem = signed((ee[64 + p]! >> 4) & 0x3f, 6) * 2 ** accRemScale
    const a = (alphaRef + accRow[row]! * 2 ** accRowScale + accColumn[col]! * 2 ** accColumnScale + rem) / alphaEEScale
    alphaTemp[p] = SCALE_ALPHA / (a - tgc * cpAlphaMean)
  }
  let alphaMax = 0
  for (let p = 0; p < PIXELS; p++) alphaMax = Math.max(alphaMax, alphaTemp[p]!)
  let alphaScale = 0
  while (alphaMax < 32767.4) {
    alphaMax *= 2
    alphaScale++
  }
  const alpha = new Uint16Array(PIXELS)
  for (let p = 0; p < PIXELS; p++) alpha[p] = Math.floor(alphaTemp[p]! * 2 ** alphaScale + 0.5)

  // Per-pixel offset.
  const occRemScale = ee[16]! & 0xf
  const occColumnScale = (ee[16]! >> 4) & 0xf
  const occRowScale = (ee[16]! >> 8) & 0xf
  const offsetRef = signed(ee[17]!, 16)
  const occRow = nibbles(ee, 18, 6)
  const occColumn = nibbles(ee, 24, 8)
  const offset = new Int16Array(PIXELS)
  for (let p = 0; p < PIXELS; p++) {
    const row = Math.floor(p / COLS)
    const col = p % COLS
    const rem = signed((ee[64 + p]! >> 10) & 0x3f, 6) * 2 ** occRemScale
    offset[p] = offsetRef + occRow[row]! * 2 ** occRowScale + occColumn[col]! * 2 ** occColumnScale + rem
  }

  // Per-pixel Kta: one of four row/column-parity groups plus a 3-bit remainder.
  const ktaRC = [
    signed((ee[54]! >> 8) & 0xff, 8), // row odd, column odd (1-based)
    signed((ee[55]! >> 8) & 0xff, 8), // row odd, column even
    signed(ee[54]! & 0xff, 8), // row even, column odd
    signed(ee[55]! & 0xff, 8), // row even, column even
  ]
  const ktaTemp = new Float64Array(PIXELS)
  for (let p = 0; p < PIXELS; p++) {
    const rem = signed((ee[64 + p]! >> 1) & 0x7, 3) * 2 ** ktaScale2
    ktaTemp[p] = (ktaRC[rowColumnGroup(p)]! + rem) / 2 ** ktaScale1
  }
  const [kta, ktaScale] = quantizeSigned8(ktaTemp)

  // Per-pixel Kv: one value per row/column-parity group.
  const kvRC = [
    signed((ee[52]! >> 12) & 0xf, 4),
    signed((ee[52]! >> 4) & 0xf, 4),
    signed((ee[52]! >> 8) & 0xf, 4),
    signed(ee[52]! & 0xf, 4),
  ]
  const kvTemp = new Float64Array(PIXELS)
  for (let p = 0; p < PIXELS; p++) kvTemp[p] = kvRC[rowColumnGroup(p)]! / 2 ** kvScaleEE
  const [kv, kvScale] = quantizeSigned8(kvTemp)

  const { brokenPixels, outlierPixels } = deviatingPixels(ee)

  return {
    kVdd, vdd25, KvPTAT, KtPTAT, vPTAT25, alphaPTAT, gainEE, tgc, cpKv, cpKta, resolutionEE,
    calibrationModeEE, KsTa, ksTo, ct, cpAlpha, cpOffset, ilChessC, alpha, alphaScale, offset,
    kta, ktaScale, kv, kvScale, brokenPixels, outlierPixels,
  }
}

/** Store values as int8 with the largest power-of-two scale that keeps |max| within 63.4 (the reference's choice). */
function quantizeSigned8(values: Float64Array): [Int8Array, number] {
  let max = 0
  for (const v of values) max = Math.max(max, Math.abs(v))
  let scale = 0
  if (max > 0) {
    while (max < 63.4) {
      max *= 2
      scale++
    }
  }
  const out = new Int8Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]! * 2 ** scale
    // Round half away from zero, as the reference does.
    out[i] = v < 0 ? Math.ceil(v - 0.5) : Math.floor(v + 0.5)
  }
  return [out, scale]
}

function deviatingPixels(ee: Uint16Array): { brokenPixels: number[]; outlierPixels: number[] } {
  const brokenPixels: number[] = []
  const outlierPixels: number[] = []
  for (let p = 0; p < PIXELS; p++) {
    const w = ee[64 + p]!
    if (w === 0) brokenPixels.push(p)
    else if ((w & 0x1) !== 0) outlierPixels.push(p)
  }
  if (brokenPixels.length + outlierPixels.length > MAX_DEVIATING_PIXELS) {
    throw tooManyBadPixelsError(brokenPixels.length, outlierPixels.length)
  }
  const all = [...brokenPixels, ...outlierPixels]
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      if (pixelsAdjacent(all[i]!, all[j]!)) throw adjacentBadPixelsError(all[i]!, all[j]!)
    }
  }
  return { brokenPixels, outlierPixels }
}

/** True when two pixels touch, diagonals included. */
export function pixelsAdjacent(a: number, b: number): boolean {
  const dr = Math.floor(a / COLS) - Math.floor(b / COLS)
  const dc = (a % COLS) - (b % COLS)
  return Math.abs(dr) < 2 && Math.abs(dc) < 2
}

function checkFrame(frame: Uint16Array): void {
  if (frame.length !== FRAME_WORDS) throw frameLengthError(frame.length)
}

/** Supply voltage (V) for a frame. */
export function getVdd(frame: Uint16Array, params: Mlx90640Params): number {
  checkFrame(frame)
  const vddRaw = signed(frame[PIXELS + AUX_VDD]!, 16)
  const resolutionRAM = (frame[FRAME_CTRL_INDEX]! & CTRL_RESOLUTION_MASK) >> CTRL_RESOLUTION_SHIFT
  // The EEPROM values were calibrated at resolutionEE; rescale the reading to it.
  const resolutionCorrection = 2 ** params.resolutionEE / 2 ** resolutionRAM
  return (resolutionCorrection * vddRaw - params.vdd25) / params.kVdd + 3.3
}

/** Ambient (die) temperature Ta (°C) for a frame. */
export function getTa(frame: Uint16Array, params: Mlx90640Params): number {
  return taFromVdd(frame, params, getVdd(frame, params))
}

function taFromVdd(frame: Uint16Array, params: Mlx90640Params, vdd: number): number {
  const ptat = signed(frame[PIXELS + AUX_PTAT]!, 16)
  const vbe = signed(frame[PIXELS + AUX_VBE]!, 16)
  const ptatArt = (ptat / (ptat * params.alphaPTAT + vbe)) * 2 ** 18
  const v = ptatArt / (1 + params.KvPTAT * (vdd - 3.3)) - params.vPTAT25
  return v / params.KtPTAT + 25
}

/** Which subpage a pixel belongs to in chess (true) or interleaved (false) mode. */
export function pixelSubpage(pixel: number, chess: boolean): number {
  const rowParity = Math.floor(pixel / COLS) % 2
  return chess ? rowParity ^ (pixel % 2) : rowParity
}

/**
 * Everything calculateTo needs that depends on the frame but not on the pixel. Exported
 * (internally) so the emulator can invert the same arithmetic.
 */
export interface FrameTerms {
  subpage: number
  chess: boolean
  vdd: number
  ta: number
  /** Combined ambient / reflected radiation term, K^4. */
  taTr: number
  gain: number
  /** Gain- and offset-compensated compensation-pixel readings for subpages 0 and 1. */
  irDataCP: [number, number]
  /** Whether the interleaved/chess correction applies (mode differs from the calibration mode). */
  patternCorrection: boolean
  alphaCorrR: Float64Array
}

export function frameTerms(frame: Uint16Array, params: Mlx90640Params, emissivity: number, tr: number): FrameTerms {
  checkFrame(frame)
  const ctrl = frame[FRAME_CTRL_INDEX]!
  const subpage = frame[FRAME_SUBPAGE_INDEX]! & 1
  const chess = (ctrl & CTRL_CHESS_MODE) !== 0
  const vdd = getVdd(frame, params)
  const ta = taFromVdd(frame, params, vdd)
  const ta4 = (ta + KELVIN) ** 4
  const tr4 = (tr + KELVIN) ** 4
  const taTr = tr4 - (tr4 - ta4) / emissivity

  const gain = params.gainEE / signed(frame[PIXELS + AUX_GAIN]!, 16)
  const mode = chess ? 0x80 : 0
  const patternCorrection = mode !== params.calibrationModeEE
  const cpDrift = (1 + params.cpKta * (ta - 25)) * (1 + params.cpKv * (vdd - 3.3))
  const cp0 = signed(frame[PIXELS + AUX_CP_SP0]!, 16) * gain - params.cpOffset[0]! * cpDrift
  const cp1Offset = patternCorrection ? params.cpOffset[1]! + params.ilChessC[0]! : params.cpOffset[1]!
  const cp1 = signed(frame[PIXELS + AUX_CP_SP1]!, 16) * gain - cp1Offset * cpDrift

  const { ksTo, ct } = params
  const alphaCorrR = new Float64Array(5)
  alphaCorrR[0] = 1 / (1 + ksTo[0]! * 40)
  alphaCorrR[1] = 1
  alphaCorrR[2] = 1 + ksTo[1]! * ct[2]!
  alphaCorrR[3] = alphaCorrR[2]! * (1 + ksTo[2]! * (ct[3]! - ct[2]!))
  alphaCorrR[4] = alphaCorrR[3]! * (1 + ksTo[3]! * (ct[4]! - ct[3]!))
  return { subpage, chess, vdd, ta, taTr, gain, irDataCP: [cp0, cp1], patternCorrection, alphaCorrR }
}

/** The interleaved / chess pattern correction added to a pixel's compensated IR signal. */
export function patternCorrectionTerm(pixel: number, params: Mlx90640Params): number {
  const ilPattern = Math.floor(pixel / COLS) % 2
  // +1 / -1 / 0 pattern over columns (period 4), sign flipped on odd rows: the readout
  // channel conversion pattern the chess calibration corrects for.
  const conversionPattern =
    (Math.floor((pixel + 2) / 4) - Math.floor((pixel + 3) / 4) + Math.floor((pixel + 1) / 4) - Math.floor(pixel / 4)) *
    (1 - 2 * ilPattern)
  return params.ilChessC[2]! * (2 * ilPattern - 1) - params.ilChessC[1]! * conversionPattern
}

/** 1e-6/alpha as stored -> the pixel's sensitivity, before the Ta correction. */
export function pixelAlpha(pixel: number, params: Mlx90640Params): number {
  return (SCALE_ALPHA * 2 ** params.alphaScale) / params.alpha[pixel]!
}

/** KsTo range index for a temperature (°C). */
export function ksToRange(to: number, params: Mlx90640Params): number {
  const { ct } = params
  if (to < ct[1]!) return 0
  if (to < ct[2]!) return 1
  if (to < ct[3]!) return 2
  if (to < ct[4]!) return 3
  return 4
}

/**
 * Object temperature (°C) of every pixel of the frame's subpage, written into `out`
 * (768 elements); the other subpage's pixels are left as they are, so calling this for
 * subpage 0 then subpage 1 into the same array yields a full image. Bad pixels (from the
 * EEPROM) in this subpage are replaced by the mean of their same-subpage neighbours.
 * Returns the frame's Ta.
 */
export function calculateTo(
  frame: Uint16Array,
  params: Mlx90640Params,
  emissivity: number,
  tr: number,
  out: Float32Array | Float64Array,
): number {
  if (out.length !== PIXELS) throw outLengthError(out.length)
  const t = frameTerms(frame, params, emissivity, tr)
  const ktaScale = 2 ** params.ktaScale
  const kvScale = 2 ** params.kvScale
  const dta = t.ta - 25
  const dvdd = t.vdd - 3.3
  const ksTa = 1 + params.KsTa * dta
  const ksTo1 = params.ksTo[1]!
  const cp = t.irDataCP[t.subpage]!
  for (let p = 0; p < PIXELS; p++) {
    if (pixelSubpage(p, t.chess) !== t.subpage) continue
    let ir = signed(frame[p]!, 16) * t.gain
    const kta = params.kta[p]! / ktaScale
    const kv = params.kv[p]! / kvScale
    ir -= params.offset[p]! * (1 + kta * dta) * (1 + kv * dvdd)
    if (t.patternCorrection) ir += patternCorrectionTerm(p, params)
    ir -= params.tgc * cp
    ir /= emissivity
    const alphaC = pixelAlpha(p, params) * ksTa
    // First estimate with the 0..ct2 range's KsTo, then refine with the range it falls in.
    let sx = alphaC ** 3 * (ir + alphaC * t.taTr)
    sx = Math.sqrt(Math.sqrt(sx)) * ksTo1
    const to0 = Math.sqrt(Math.sqrt(ir / (alphaC * (1 - ksTo1 * KELVIN) + sx) + t.taTr)) - KELVIN
    const r = ksToRange(to0, params)
    const denom = alphaC * t.alphaCorrR[r]! * (1 + params.ksTo[r]! * (to0 - params.ct[r]!))
    out[p] = Math.sqrt(Math.sqrt(ir / denom + t.taTr)) - KELVIN
  }
  correctBadPixels(out, params, t.subpage, t.chess)
  return t.ta
}

/**
 * Replace broken / outlier pixels of one subpage by the mean of their nearest neighbours
 * from the same subpage (read at the same moment): the diagonals in chess mode, left /
 * right and two rows up / down in interleaved mode. Neighbours that are bad themselves are
 * skipped; extractParameters guarantees no two bad pixels touch.
 */
export function correctBadPixels(out: Float32Array | Float64Array, params: Mlx90640Params, subpage: number, chess: boolean): void {
  const bad = [...params.brokenPixels, ...params.outlierPixels]
  if (bad.length === 0) return
  const isBad = new Set(bad)
  const offsets: Array<[number, number]> = chess
    ? [[-1, -1], [-1, 1], [1, -1], [1, 1]]
    : [[0, -1], [0, 1], [-2, 0], [2, 0]]
  for (const p of bad) {
    if (pixelSubpage(p, chess) !== subpage) continue
    const row = Math.floor(p / COLS)
    const col = p % COLS
    let sum = 0
    let n = 0
    for (const [dr, dc] of offsets) {
      const r = row + dr
      const c = col + dc
      if (r < 0 || r >= ROWS || c < 0 || c >= COLS) continue
      const q = r * COLS + c
      if (isBad.has(q)) continue
      sum += out[q]!
      n++
    }
    if (n > 0) out[p] = sum / n
  }
}
