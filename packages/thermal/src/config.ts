// Defaults and checks for the `thermal:` config section.
import { closest } from '@heart/kernel'
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

const KEYS = {
  '': ['enabled', 'bus', 'address', 'hz', 'refreshHz', 'busHz', 'emissivity', 'trOffsetC', 'dataHold', 'maxReadBytes', 'reinitAfter', 'drift', 'cooldown', 'emulator'],
  drift: ['windowS', 'maxTaCPerMin', 'maxMeanCPerMin', 'samplesPerS'],
  cooldown: ['everyS', 'forS', 'onDrift'],
  emulator: ['backgroundC', 'blobC', 'ta', 'noiseCounts', 'seed', 'faultRates'],
} as const

/** A misspelt key would silently fall back to its default: refuse it, with the likely intended one. */
function checkKeys(section: keyof typeof KEYS, value: unknown): void {
  if (value === undefined || value === null) return
  const path = section ? `thermal.${section}` : 'thermal'
  if (typeof value !== 'object' || Array.isArray(value)) throw badArgumentError(`${path} must be a mapping of settings; got ${JSON.stringify(value)}`)
  const known: readonly string[] = KEYS[section]
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    const hint = closest(key, known)
    throw badArgumentError(`${path}.${key} is not a setting${hint ? `; did you mean ${hint}?` : `. Known: ${known.join(', ')}`}`)
  }
}

export function resolveThermalConfig(c: ThermalConfig = {}): ResolvedThermalConfig {
  checkKeys('', c)
  checkKeys('drift', c.drift)
  checkKeys('cooldown', c.cooldown)
  checkKeys('emulator', c.emulator)
  if (c.cooldown && !(typeof c.cooldown.forS === 'number' && c.cooldown.forS > 0)) {
    throw badArgumentError(`thermal.cooldown.forS must be a positive number of seconds; got ${String(c.cooldown.forS)}`)
  }
  const hz = c.hz ?? 10
  if (!(typeof hz === 'number' && hz > 0 && hz <= 32)) throw badArgumentError(`thermal.hz must be a number in (0, 32]; got ${String(c.hz)}`)
  const bus = c.bus ?? null
  if (bus !== null && !(Number.isInteger(bus) && bus >= 0)) throw badArgumentError(`thermal.bus must be a bus number like 1 (/dev/i2c-1); got ${String(c.bus)}`)
  const address = c.address ?? 0x33
  if (!(Number.isInteger(address) && address >= 0x08 && address <= 0x77)) {
    throw badArgumentError(`thermal.address must be a 7-bit address (0x08..0x77); got ${String(c.address)}`)
  }
  const refreshHz = c.refreshHz ?? defaultRefreshHz(hz)
  if (!REFRESH_RATES_HZ.includes(refreshHz as (typeof REFRESH_RATES_HZ)[number])) {
    throw badArgumentError(`thermal.refreshHz must be one of ${REFRESH_RATES_HZ.join(', ')}; got ${String(c.refreshHz)}`)
  }
  if (refreshHz < hz) throw badArgumentError(`thermal.refreshHz ${refreshHz} is below thermal.hz ${hz}: each frame needs a new subpage`)
  const busHz = c.busHz ?? 400_000
  if (!(busHz >= 10_000 && busHz <= 3_400_000)) throw badArgumentError(`thermal.busHz must be 10000..3400000 (100000, 400000, 1000000 are usual); got ${String(c.busHz)}`)
  const emissivity = c.emissivity ?? 1
  if (!(emissivity > 0 && emissivity <= 1)) throw badArgumentError(`thermal.emissivity must be in (0, 1]; got ${String(c.emissivity)}`)
  return {
    enabled: c.enabled ?? true,
    bus,
    address,
    hz,
    refreshHz,
    busHz,
    emissivity,
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
