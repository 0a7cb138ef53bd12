// The `thermal:` config section: its schema (part of heart's one config
// schema, so every problem of the file is reported at once in heart's
// wording), its defaults, and resolveThermalConfig for direct callers, which
// applies the same schema.
import { boolean, integer, number, optional, show, validate, z, type Infer } from '@heart/kernel'
import { badArgumentError } from './errors.js'
import { REFRESH_RATES_HZ } from './registers.js'
import type { ThermalConfig } from './types.js'

export interface ResolvedThermalConfig extends Required<Omit<ThermalConfig, 'bus' | 'drift' | 'cooldown' | 'emulator' | 'maxReadBytes'>> {
  bus: number | null
  maxReadBytes: number
  drift: NonNullable<ThermalConfig['drift']>
  cooldown: ThermalConfig['cooldown']
  emulator: NonNullable<ThermalConfig['emulator']>
}

/** Subpage rate with headroom: at least 1.25x the publish rate, so every tick finds a new subpage. */
export function defaultRefreshHz(hz: number): number {
  const rate = REFRESH_RATES_HZ.find((r) => r >= hz * 1.25)
  if (rate === undefined) throw badArgumentError(`thermal hz ${hz} is more than the MLX90640 can give (64 subpages/s)`)
  return rate
}

/** A number with heart's wording and a hint of what is meant when it is wrong. */
function hinted(check: (v: number) => boolean, expected: string): z.ZodType<number> {
  const wrong = (iss: { input?: unknown }): string => `got ${show(iss.input)}, expected ${expected}`
  return z.number({ error: wrong }).refine(check, { error: wrong }) as z.ZodType<number>
}

const positiveSeconds = (): z.ZodType<number> => hinted((v) => v > 0, 'a positive number of seconds')
const fraction = (): z.ZodType<number> => hinted((v) => v >= 0 && v <= 1, 'a probability from 0 to 1')

/** An optional setting whose default resolveThermalConfig applies; the default is shown in the JSON Schema. */
function withDefault<T>(schema: z.ZodType<T>, fallback: T): z.ZodType<T | undefined> {
  return schema.optional().meta({ default: fallback }) as z.ZodType<T | undefined>
}

/**
 * A mapping of settings, strict (a misspelt key would silently fall back to
 * its default). The parsed value holds only what was written: the section is
 * passed on as written and resolveThermalConfig fills the defaults.
 */
function mapping<S extends z.ZodRawShape>(shape: S) {
  const keys = Object.keys(shape).join(', ')
  return z.preprocess(
    (v) => (v === null ? undefined : v),
    z.strictObject(shape, { error: (iss) => (iss.code === 'invalid_type' ? `got ${show(iss.input)}, expected an object with ${keys}` : undefined) }).optional(),
  )
}

/** The `thermal:` section (docs/thermal.md); absent, it is `{}` (every default). */
export const thermalConfigSchema = z.preprocess((v) => v ?? {}, mapping({
  enabled: withDefault(boolean(), true),
  /** null or absent: the emulator; a number: /dev/i2c-N. */
  bus: withDefault(
    z.union([z.null(), hinted((v) => Number.isInteger(v) && v >= 0, 'a bus number like 1 (/dev/i2c-1), or null for the emulator')], {
      error: (iss) => `got ${show(iss.input)}, expected a bus number like 1 (/dev/i2c-1), or null for the emulator`,
    }) as z.ZodType<number | null>,
    null,
  ),
  address: withDefault(hinted((v) => Number.isInteger(v) && v >= 0x08 && v <= 0x77, 'a 7-bit address (0x08..0x77)'), 0x33),
  hz: withDefault(hinted((v) => v > 0 && v <= 32, 'a number of frames a second in (0, 32]'), 10),
  /** Default: the lowest rate at least 1.25x hz. */
  refreshHz: optional(
    z.number({ error: (iss) => `got ${show(iss.input)}, allowed: ${REFRESH_RATES_HZ.join(' | ')}` }).refine((v) => (REFRESH_RATES_HZ as readonly number[]).includes(v), {
      error: (iss) => `got ${show(iss.input)}, allowed: ${REFRESH_RATES_HZ.join(' | ')} (subpages a second)`,
    }) as z.ZodType<number>,
  ),
  busHz: withDefault(hinted((v) => v >= 10_000 && v <= 3_400_000, 'a bus clock from 10000 to 3400000 Hz (100000, 400000, 1000000 are usual)'), 400_000),
  emissivity: withDefault(hinted((v) => v > 0 && v <= 1, 'an emissivity in (0, 1]'), 1),
  trOffsetC: withDefault(number(), -8),
  dataHold: withDefault(boolean(), false),
  maxReadBytes: withDefault(integer({ min: 2, max: 1 << 20 }), 8192),
  reinitAfter: withDefault(integer({ min: 0 }), 5),
  drift: mapping({
    windowS: withDefault(positiveSeconds(), 60),
    maxTaCPerMin: optional(number({ min: 0 })),
    maxMeanCPerMin: optional(number({ min: 0 })),
    samplesPerS: withDefault(hinted((v) => v > 0, 'a positive number of samples a second'), 2),
  }),
  cooldown: mapping({
    everyS: optional(number({ min: 0 })),
    forS: positiveSeconds(),
    onDrift: optional(boolean()),
  }),
  emulator: mapping({
    backgroundC: optional(number()),
    blobC: optional(number()),
    ta: optional(number()),
    noiseCounts: optional(number({ min: 0 })),
    seed: optional(integer()),
    faultRates: mapping({ nack: optional(fraction()), timeout: optional(fraction()), corrupt: optional(fraction()) }),
  }),
})).superRefine((c, ctx) => {
  if (c?.refreshHz !== undefined && c.refreshHz < (c.hz ?? 10)) {
    ctx.addIssue({ code: 'custom', path: ['refreshHz'], message: `${c.refreshHz} is below thermal.hz ${c.hz ?? 10}: each frame needs a new subpage, expected refreshHz >= hz` })
  }
})
export type ThermalConfigInput = Infer<typeof thermalConfigSchema>

export function resolveThermalConfig(input: ThermalConfig = {}): ResolvedThermalConfig {
  const { value, problems } = validate(thermalConfigSchema, input)
  if (problems.length > 0) throw badArgumentError(problems.map((p) => (p.startsWith('(top level)') ? `thermal${p.slice('(top level)'.length)}` : `thermal.${p}`)).join('; '))
  const c = (value ?? {}) as ThermalConfig
  const hz = c.hz ?? 10
  return {
    enabled: c.enabled ?? true,
    bus: c.bus ?? null,
    address: c.address ?? 0x33,
    hz,
    refreshHz: c.refreshHz ?? defaultRefreshHz(hz),
    busHz: c.busHz ?? 400_000,
    emissivity: c.emissivity ?? 1,
    trOffsetC: c.trOffsetC ?? -8,
    dataHold: c.dataHold ?? false,
    maxReadBytes: c.maxReadBytes ?? 8192,
    reinitAfter: c.reinitAfter ?? 5,
    drift: c.drift ?? {},
    cooldown: c.cooldown,
    emulator: c.emulator ?? {},
  }
}

/** The bus time one subpage read costs at a clock, ms (RAM read plus status and hold traffic). */
export function subpageBusMs(busHz: number): number {
  // RAM: addr+W, 2 register bytes, addr+R, 1664 data bytes. Hold/status traffic: ~4 short transactions.
  const bytes = 1 + 2 + 1 + 1664 + 4 * 6
  return (bytes * 9 * 1000) / busHz
}
