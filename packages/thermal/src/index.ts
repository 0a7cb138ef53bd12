// @heart/thermal: the MLX90640 thermal path.
export { calculateTo, correctBadPixels, extractParameters, getTa, getVdd, pixelSubpage, pixelsAdjacent } from './calibration.js'
export type { Mlx90640Params } from './calibration.js'
export { RealClock, VirtualClock } from './clock.js'
export type { Clock } from './clock.js'
export { defaultRefreshHz, resolveThermalConfig, subpageBusMs, thermalConfigSchema } from './config.js'
export type { ResolvedThermalConfig, ThermalConfigInput } from './config.js'
export { DriftTracker } from './drift.js'
export type { DriftFigures, DriftOptions } from './drift.js'
export { Mlx90640, refreshCode, validateFrame } from './driver.js'
export type { Mlx90640Options, SubpageRead } from './driver.js'
export { Mlx90640Emulator } from './emulator.js'
export type { EmulatorOptions, EmulatorStats, FaultKind, FaultRates, FaultSpec, FaultTarget } from './emulator.js'
export { ThermalError } from './errors.js'
export type { ThermalErrorCode } from './errors.js'
export {
  createThermalHealthBuffer,
  thermalHealth,
  ThermalHealthWriter,
  THERMAL_HEALTH_BYTES,
  THERMAL_LOSS_REASONS,
  THERMAL_STATES,
} from './health.js'
export type { ThermalHealthSnapshot, ThermalLossReason, ThermalState } from './health.js'
export { openLinuxI2c } from './linux-transport.js'
export type { LinuxI2cOptions } from './linux-transport.js'
export { ThermalPoller } from './poller.js'
export type { CooldownOptions, PollerOptions, ThermalFrame } from './poller.js'
export { ThermalAux, thermalFrameLayout, thermalRingOptions, THERMAL_AUX_WORDS } from './ring.js'
export {
  COLS,
  DEFAULT_ADDRESS,
  EEPROM_WORDS,
  FRAME_WORDS,
  PIXELS,
  REFRESH_RATES_HZ,
  ROWS,
} from './registers.js'
export { blobScene, RecordedScene, TemperatureScene } from './scenes.js'
export type { BlobSceneOptions, Scene, SceneContext, SyntheticSceneOptions } from './scenes.js'
export { startThermal, THERMAL_WORKER_URL } from './service.js'
export type { StartThermalOptions, ThermalService } from './service.js'
export { synthesizeEeprom, synthesizeFrame } from './synthesize.js'
export type { SyntheticEepromOptions, SynthesisConditions } from './synthesize.js'
export { addressBytes, busTimeMs, bytesToWords, wordsWithAddress } from './transport.js'
export type { I2cTransport } from './transport.js'
export type { ThermalConfig, ThermalFrameEvent, ThermalWorkerConfig } from './types.js'
export { ThermalMetric, thermalMetrics } from './metrics.js'
