// Main-thread side: create the thermal ring and health block, start the worker under the
// kernel's supervisor, and hand health to the kernel's /health.
import type { Kernel, ServiceStatus } from '@heart/kernel'
import type { FrameRing } from '@heart/ring'
import type { Catalogue } from '@heart/telemetry'
import { resolveThermalConfig } from './config.js'
import { createThermalHealthBuffer, thermalHealth, type ThermalHealthSnapshot } from './health.js'
import { thermalRingOptions } from './ring.js'
import type { ThermalConfig, ThermalWorkerConfig } from './types.js'

/** The compiled worker entry. */
export const THERMAL_WORKER_URL = new URL('./thermal-worker.js', import.meta.url)

export interface ThermalService {
  ring: FrameRing
  healthBuffer: SharedArrayBuffer
  /** The /health "thermal" section now (null before the worker's first report). */
  health(): ThermalHealthSnapshot | null
  status: ServiceStatus
}

export interface StartThermalOptions {
  /** Service and ring name. */
  name?: string
  /** Record into the shared metrics registry (its buffer and the catalogue it was built from). */
  metrics?: { buffer: SharedArrayBuffer; catalogue: Catalogue }
  restart?: { initialMs?: number; maxMs?: number }
}

/**
 * Starts the thermal path: ring `thermal` (create the camera ring first: the kernel shows
 * the first ring in health), health wired into kernel.report(), and the worker.
 */
export function startThermal(kernel: Kernel, config: ThermalConfig = {}, opts: StartThermalOptions = {}): ThermalService {
  resolveThermalConfig(config) // bad config fails here, on the main thread, with a clear message
  const name = opts.name ?? 'thermal'
  const ring = kernel.createRing(name, thermalRingOptions())
  const healthBuffer = createThermalHealthBuffer()
  const health = (): ThermalHealthSnapshot | null => thermalHealth(healthBuffer)
  kernel.setThermalHealth(health)
  const workerConfig: ThermalWorkerConfig = {
    thermal: config,
    ringKey: 'ring',
    healthKey: 'health',
    metrics: opts.metrics ? { key: 'metrics', catalogue: opts.metrics.catalogue } : undefined,
  }
  const shared: Record<string, SharedArrayBuffer> = { ring: ring.buffer, health: healthBuffer }
  if (opts.metrics) shared.metrics = opts.metrics.buffer
  const status = kernel.startService({ name, entry: THERMAL_WORKER_URL, config: workerConfig, shared, restart: opts.restart })
  return { ring, healthBuffer, health, status }
}
