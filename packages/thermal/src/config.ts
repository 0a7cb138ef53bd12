// The `thermal:` config section: its schema (part of heart's one config
// schema, so every problem of the file is reported at once in heart's
// wording), its defaults, and resolveThermalConfig for direct callers, which
// applies the same schema.
import { boolean, integer, number, object, optional, show, validate, z, type Infer } from '@heart/kernel'
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

/** The `thermal:` section (docs/thermal.md). Absent keys keep their defaults in resolveThermalConfig. */
export const thermalConfigSchema = object({
  enabled: boolean({ default: true }),
  /** null or absent: the emulator; a number: /dev/i2c-N. */
  bus: optional(z.union([z.null(), hinted((v) => Number.isInteger(v) && v >= 0, 'a bus number like 1 (/dev/i2c-1), or null for the emulator')], {
    error: (iss) => `got ${show(iss.input)}, expected a bus number like 1 (/dev/i2c-1), or null for the emulator`,
  }) as z.ZodType<number | null>),
  address: optional(hinted((v) => Number.isInteger(v) && v >= 0x08 && v <= 0x77, 'a 7-bit address (0x08..0x77)')),
  hz: optional(hinted((v) => v > 0 && v <= 32, 'a number of frames a second in (0, 32]')),
  refreshHz: optional(
    z.number({ error: (iss) => `got ${show(iss.input)}, allowed: ${REFRESH_RATES_HZ.join(' | ')}` }).refine((v) => (REFRESH_RATES_HZ as readonly number[]).includes(v), {
      error: (iss) => `got ${show(iss.input)}, allowed: ${REFRESH_RATES_HZ.join(' | ')} (subpages a second)`,
    }) as z.ZodType<number>,
  ),
  busHz: optional(hinted((v) => v >= 10_000 && v <= 3_400_000, 'a bus clock from 10000 to 3400000 Hz (100000, 400000, 1000000 are usual)')),
  emissivity: optional(hinted((v) => v > 0 && v <= 1, 'an emissivity in (0, 1]')),
  trOffsetC: optional(number()),
  dataHold: optional(boolean()),
  maxReadBytes: optional(integer({ min: 2, max: 1 << 20 })),
  reinitAfter: optional(integer({ min: 0 })),
  drift: object({
    windowS: optional(positiveSeconds()),
    maxTaCPerMin: optional(number({ min: 0 })),
    maxMeanCPerMin: optional(number({ min: 0 })),
    samplesPerS: optional(hinted((v) => v > 0, 'a positive number of samples a second')),
  }),
  cooldown: optional(
    object({
      everyS: optional(number({ min: 0 })),
      forS: positiveSeconds(),
      onDrift: optional(boolean()),
    }),
  ),
  emulator: object({
    backgroundC: optional(number()),
    blobC: optional(number()),
    ta: optional(number()),
    noiseCounts: optional(number({ min: 0 })),
    seed: optional(integer()),
    faultRates: optional(object({ nack: optional(fraction()), timeout: optional(fraction()), corrupt: optional(fraction()) })),
  }),
}).superRefine((c, ctx) => {
  if (c.refreshHz !== undefined && c.refreshHz < (c.hz ?? 10)) {
    ctx.addIssue({ code: 'custom', path: ['refreshHz'], message: `${c.refreshHz} is below thermal.hz ${c.hz ?? 10}: each frame needs a new subpage, expected refreshHz >= hz` })
  }
})
export type ThermalConfigInput = Infer<typeof thermalConfigSchema>

export function resolveThermalConfig(input: ThermalConfig = {}): ResolvedThermalConfig {
  const { value: c, problems } = validate(thermalConfigSchema, input)
  if (problems.length > 0) throw badArgumentError(problems.map((p) => (p.startsWith('(top level)') ? `thermal${p.slice('(top level)'.length)}` : `thermal.${p}`)).join('; '))
  const hz = c.hz ?? 10
  return {
    enabled: c.enabled,
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
    drift: stripUndefined(c.drift),
    cooldown: c.cooldown === undefined ? undefined : (stripUndefined(c.cooldown) as NonNullable<ThermalConfig['cooldown']>),
    emulator: stripUndefined({ ...c.emulator, faultRates: c.emulator.faultRates && stripUndefined(c.emulator.faultRates) }),
  }
}

/** The schema lists every key (undefined when absent); the resolved config keeps only what was given. */
function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** The bus time one subpage read costs at a clock, ms (RAM read plus status and hold traffic). */
export function subpageBusMs(busHz: number): number {
  // RAM: addr+W, 2 register bytes, addr+R, 1664 data bytes. Hold/status traffic: ~4 short transactions.
  const bytes = 1 + 2 + 1 + 1664 + 4 * 6
  return (bytes * 9 * 1000) / busHz
}
