// Message and config shapes of the thermal path.
import type { Catalogue } from '@heart/telemetry'
import type { DriftOptions } from './drift.js'
import type { FaultRates } from './emulator.js'
import type { CooldownOptions } from './poller.js'

/** The `thermal:` section of heart's config. Without `bus` the emulated sensor is used. */
export interface ThermalConfig {
  enabled?: boolean
  /** Linux I²C bus number (/dev/i2c-N); omit (or null) for the emulator. */
  bus?: number | null
  /** 7-bit address, 0x33 unless the EEPROM was reprogrammed. */
  address?: number
  /** Published frames per second. */
  hz?: number
  /** Subpage refresh setting, Hz; by default the lowest that leaves headroom over hz (16 for 10). */
  refreshHz?: number
  /** Bus clock in Hz: the emulator's, or the real bus's when the device tree does not say. */
  busHz?: number
  emissivity?: number
  /** Reflected temperature relative to Ta, °C. */
  trOffsetC?: number
  dataHold?: boolean
  /** Adapter limit for one read, bytes. */
  maxReadBytes?: number
  /** Re-initialise the sensor after this many failures in a row. */
  reinitAfter?: number
  drift?: DriftOptions
  cooldown?: CooldownOptions
  emulator?: {
    /** Default scene: a warm blob moving over a background. */
    backgroundC?: number
    blobC?: number
    ta?: number
    noiseCounts?: number
    seed?: number
    faultRates?: FaultRates
  }
}

/** What the thermal worker receives as ctx.config. */
export interface ThermalWorkerConfig {
  thermal: ThermalConfig
  /** Keys of the shared buffers in ctx.shared. */
  ringKey: string
  healthKey: string
  metrics?: { key: string; catalogue: Catalogue }
}

/** Payload of the `thermal.frame` event (low rate: 10 a second). */
export interface ThermalFrameEvent {
  seq: number
  /** CLOCK_MONOTONIC ns of publication, as a string (JSON has no bigint). */
  tsNs: string
  ta: number
  min: number
  max: number
  mean: number
}
