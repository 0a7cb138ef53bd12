// The calibration run backwards: build an EEPROM for an imaginary but plausible part, and
// turn a temperature image (°C) into the raw RAM words that part would report. The
// emulator serves these, so tests can check that the driver recovers a known scene.
import {
  frameTerms,
  ksToRange,
  patternCorrectionTerm,
  pixelAlpha,
  pixelSubpage,
  type Mlx90640Params,
} from './calibration.js'
import { badArgumentError } from './errors.js'
import { AUX_CP_SP0, AUX_CP_SP1, AUX_GAIN, AUX_PTAT, AUX_VBE, AUX_VDD, CTRL_CHESS_MODE, CTRL_RESOLUTION_MASK, CTRL_RESOLUTION_SHIFT, EEPROM_WORDS, FRAME_CTRL_INDEX, FRAME_SUBPAGE_INDEX, FRAME_WORDS, PIXELS, RAM_WORDS } from './registers.js'

const KELVIN = 273.15
/** RAM words the part never writes read back as 0x7FFF. */
export const UNWRITTEN_WORD = 0x7fff

/** Small deterministic PRNG (mulberry32): the same seed gives the same part and the same noise. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function field(value: number, bits: number, shift: number): number {
  if (value < -(1 << (bits - 1)) && bits > 1) throw badArgumentError(`value ${value} does not fit ${bits} signed bits`)
  return (value & ((1 << bits) - 1)) << shift
}

function packNibbles(values: number[]): number {
  let w = 0
  for (let k = 0; k < 4; k++) w |= (values[k]! & 0xf) << (4 * k)
  return w
}

export interface SyntheticEepromOptions {
  seed?: number
  /** Pixels to mark broken (word 0) or outlier (bit 0 set). */
  broken?: number[]
  outliers?: number[]
}

/**
 * An EEPROM image for a plausible MLX90640 (typical gains, PTAT and KsTo figures, a few
 * percent of pixel-to-pixel spread), chosen by us so the emulator needs no dump from a
 * real part. extractParameters reads it like any other.
 */
export function synthesizeEeprom(opts: SyntheticEepromOptions = {}): Uint16Array {
  const rand = prng(opts.seed ?? 0x90640)
  const small = (range: number): number => Math.round((rand() * 2 - 1) * range)
  const ee = new Uint16Array(EEPROM_WORDS)
  ee[0] = 0x00a5
  ee[1] = 0x4c1d
  ee[3] = 0x2061
  ee[7] = 0x0e11 + small(100) // device id words: any value
  ee[8] = 0x7a31 + small(100)
  ee[9] = 0x0182
  ee[10] = 0x0480 // calibrated in chess mode (bit 11 clear), device-select bit 6 clear
  ee[12] = 0x1901
  ee[15] = 0xbe33 // I²C address 0x33
  // Offsets: alphaPTAT code 4 (=9), row scale 2, column scale 2, remainder scale 0.
  ee[16] = (4 << 12) | (2 << 8) | (2 << 4) | 0
  ee[17] = field(-62, 16, 0)
  for (let i = 0; i < 6; i++) ee[18 + i] = packNibbles([small(2), small(2), small(2), small(2)])
  for (let i = 0; i < 8; i++) ee[24 + i] = packNibbles([small(2), small(2), small(2), small(2)])
  // Sensitivities: alpha scale code 8 (2^38), row / column scales 8 and 7, remainder 0.
  ee[32] = (8 << 12) | (8 << 8) | (7 << 4) | 0
  ee[33] = 12400 // alphaRef: alpha = 12400 / 2^38 ~ 4.5e-8
  for (let i = 0; i < 6; i++) ee[34 + i] = packNibbles([small(3), small(3), small(3), small(3)])
  for (let i = 0; i < 8; i++) ee[40 + i] = packNibbles([small(3), small(3), small(3), small(3)])
  ee[48] = 5600 // gainEE
  ee[49] = 12210 // vPTAT25
  ee[50] = field(9, 6, 10) | field(341, 10, 0) // KvPTAT 9/4096, KtPTAT 42.625
  ee[51] = field(-100, 8, 8) | 120 // kVdd -3200, vdd25 -12544
  ee[52] = (5 << 12) | (4 << 8) | (4 << 4) | 4 // Kv per row/column group
  ee[53] = field(0, 5, 11) | field(7, 5, 6) | field(8, 6, 0) // ilChessC 0.5, 3.5, 0
  ee[54] = field(60, 8, 8) | field(54, 8, 0) // Kta row-odd/col-odd, row-even/col-odd
  ee[55] = field(58, 8, 8) | field(52, 8, 0) // Kta row-odd/col-even, row-even/col-even
  ee[56] = (2 << 12) | (4 << 8) | (5 << 4) | 2 // resolution 18 bit, kvScale 4, ktaScale1 13, ktaScale2 2
  ee[57] = field(1, 6, 10) | field(96, 10, 0) // compensation pixel alpha
  ee[58] = field(4, 6, 10) | field(-70, 10, 0) // compensation pixel offsets -70, -66
  ee[59] = field(6, 8, 8) | field(35, 8, 0) // cpKv, cpKta
  ee[60] = field(-20, 8, 8) | field(0, 8, 0) // KsTa -20/8192, tgc 0
  ee[61] = field(-105, 8, 8) | field(-105, 8, 0) // KsTo ranges 0 and 1
  ee[62] = field(-105, 8, 8) | field(-105, 8, 0) // KsTo ranges 2 and 3
  ee[63] = (2 << 12) | (10 << 8) | (15 << 4) | 11 // step 20 °C: ct2 300, ct3 500; KsTo scale 2^19
  const broken = new Set(opts.broken ?? [])
  const outliers = new Set(opts.outliers ?? [])
  for (let p = 0; p < PIXELS; p++) {
    if (broken.has(p)) {
      ee[64 + p] = 0
      continue
    }
    let w = field(small(12), 6, 10) | field(small(10), 6, 4) | field(small(2), 3, 1)
    if (outliers.has(p)) w |= 1
    if (w === 0) w = field(1, 6, 4) // an all-zero word would read as a broken pixel
    ee[64 + p] = w
  }
  return ee
}

export interface SynthesisConditions {
  /** Die temperature to report, °C. */
  ta: number
  /** Supply voltage to report, V. */
  vdd: number
  emissivity: number
  /** Reflected temperature, °C (what the reader will pass as tr). */
  tr: number
  /** Gaussian noise on every pixel word, in ADC counts (0 = none). */
  noiseCounts?: number
  rand?: () => number
}

const clampInt16 = (v: number): number => Math.max(-32768, Math.min(32767, Math.round(v)))
const toWord = (v: number): number => clampInt16(v) & 0xffff

/**
 * Raw words (834, the frame layout) that make calculateTo(frame, params, emissivity, tr)
 * return `temps` for the pixels of `subpage`. Pixels of the other subpage and unused aux
 * words are UNWRITTEN_WORD. Within quantisation (about 0.1 °C per ADC count) the inverse is exact.
 */
export function synthesizeFrame(
  params: Mlx90640Params,
  ctrl: number,
  subpage: number,
  temps: ArrayLike<number>,
  cond: SynthesisConditions,
  out: Uint16Array = new Uint16Array(FRAME_WORDS),
): Uint16Array {
  if (temps.length !== PIXELS) throw badArgumentError(`a scene needs 768 temperatures; got ${temps.length}`)
  out.fill(UNWRITTEN_WORD, 0, RAM_WORDS)
  out[FRAME_CTRL_INDEX] = ctrl
  out[FRAME_SUBPAGE_INDEX] = subpage
  const aux = PIXELS

  // Supply voltage at the configured resolution.
  const resolutionRAM = (ctrl & CTRL_RESOLUTION_MASK) >> CTRL_RESOLUTION_SHIFT
  const resolutionCorrection = 2 ** params.resolutionEE / 2 ** resolutionRAM
  out[aux + AUX_VDD] = toWord(((cond.vdd - 3.3) * params.kVdd + params.vdd25) / resolutionCorrection)
  // Ambient: fix PTAT and solve for Vbe.
  const ptat = 1700
  const vdd = frameVdd(params, out)
  const ptatArt = ((cond.ta - 25) * params.KtPTAT + params.vPTAT25) * (1 + params.KvPTAT * (vdd - 3.3))
  out[aux + AUX_PTAT] = ptat
  out[aux + AUX_VBE] = toWord((ptat * 2 ** 18) / ptatArt - ptat * params.alphaPTAT)
  // Gain a little off the calibration value, as on a real part.
  out[aux + AUX_GAIN] = toWord(params.gainEE / 1.012)
  // Compensation pixels: their offsets plus a small signal.
  const gain = params.gainEE / ((out[aux + AUX_GAIN]! << 16) >> 16)
  const cpDrift = (1 + params.cpKta * (cond.ta - 25)) * (1 + params.cpKv * (vdd - 3.3))
  out[aux + AUX_CP_SP0] = toWord((params.cpOffset[0]! * cpDrift - 2) / gain)
  out[aux + AUX_CP_SP1] = toWord((params.cpOffset[1]! * cpDrift - 2) / gain)

  // Now the frame-wide terms are exactly what the forward calculation will see.
  const t = frameTerms(out, params, cond.emissivity, cond.tr)
  const ktaScale = 2 ** params.ktaScale
  const kvScale = 2 ** params.kvScale
  const dta = t.ta - 25
  const dvdd = t.vdd - 3.3
  const ksTa = 1 + params.KsTa * dta
  const cp = t.irDataCP[subpage]!
  const chess = (ctrl & CTRL_CHESS_MODE) !== 0
  const noise = cond.noiseCounts ?? 0
  const rand = cond.rand ?? Math.random
  for (let p = 0; p < PIXELS; p++) {
    if (pixelSubpage(p, chess) !== subpage) continue
    const to = temps[p]!
    const alphaC = pixelAlpha(p, params) * ksTa
    const r = ksToRange(to, params)
    const signal =
      alphaC * t.alphaCorrR[r]! * (1 + params.ksTo[r]! * (to - params.ct[r]!)) * ((to + KELVIN) ** 4 - t.taTr)
    let ir = signal * cond.emissivity + params.tgc * cp
    if (t.patternCorrection) ir -= patternCorrectionTerm(p, params)
    const kta = params.kta[p]! / ktaScale
    const kv = params.kv[p]! / kvScale
    ir += params.offset[p]! * (1 + kta * dta) * (1 + kv * dvdd)
    let raw = ir / t.gain
    if (noise > 0) raw += gaussian(rand) * noise
    out[p] = toWord(raw)
  }
  return out
}

function frameVdd(params: Mlx90640Params, frame: Uint16Array): number {
  const resolutionRAM = (frame[FRAME_CTRL_INDEX]! & CTRL_RESOLUTION_MASK) >> CTRL_RESOLUTION_SHIFT
  const raw = (frame[PIXELS + AUX_VDD]! << 16) >> 16
  return ((2 ** params.resolutionEE / 2 ** resolutionRAM) * raw - params.vdd25) / params.kVdd + 3.3
}

function gaussian(rand: () => number): number {
  // Box-Muller; 1 - u keeps log() away from 0.
  const u = 1 - rand()
  const v = rand()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}
