// heart's metric catalogue for one run. Each package declares the metrics it
// records next to the code that records them (kernel, capture and thermal
// metrics.ts, and the recorder's); this joins them for the parts the config runs. `heart run`
// builds it once in the main thread and hands the same catalogue, with the
// registry's buffer, to every worker, so every thread lays the buffer out alike.
import { CaptureMetric, captureMetrics } from '@heart/capture'
import { KernelMetric, MAIN_THREAD, kernelMetrics } from '@heart/kernel'
import { joinCatalogues, type Catalogue } from '@heart/telemetry'
import { RecorderMetric, recorderMetrics } from '@heart/record'
import { ThermalMetric, thermalMetrics } from '@heart/thermal'

/** Every metric name heart records, so call sites cannot misspell them. */
export const HeartMetric = Object.freeze({ ...KernelMetric, ...CaptureMetric, ...ThermalMetric, ...RecorderMetric })

export interface HeartMetricsCatalogueOptions {
  /** Ring consumer names (may be empty: a camera-only run). */
  consumers: readonly string[]
  /** Whether the run starts the thermal worker; without it nothing counts heart.thermal.*, so it is not declared. */
  thermal: boolean
  /** Other worker threads the run starts (the recorder: `recorder_main`), for heart.thread.cpu. */
  workers?: readonly string[]
  /** Cameras being recorded (`main` with record.enabled): their heart.recorder.* series; none, none declared. */
  recording?: readonly string[]
  /** Every thread heart.thread.cpu names besides main and thermal (with several cameras: each camera's services); default: capture, the consumers and `workers`. */
  threads?: readonly string[]
  /** false: leave out the per-camera series (with several cameras they live in each camera's registry: cameraMetricsCatalogue). */
  cameraSeries?: boolean
}

export function heartMetricsCatalogue(options: HeartMetricsCatalogueOptions): Catalogue {
  // heart.thread.cpu's threads: the main thread and every worker `heart run` starts (the capture and thermal services' default names).
  const threads = [MAIN_THREAD, ...(options.threads ?? ['capture', ...options.consumers, ...(options.workers ?? [])]), ...(options.thermal ? ['thermal'] : [])]
  const kernel = kernelMetrics({ consumers: options.consumers, threads })
  const parts = options.cameraSeries === false ? [kernel.filter((d) => !isCameraSeries(d.name))] : [captureMetrics(), kernel]
  if (options.thermal) parts.push(thermalMetrics())
  if (options.recording && options.recording.length > 0) parts.push(recorderMetrics(options.recording))
  return joinCatalogues(...parts)
}

/** The kernel's series that describe a camera (its ring, its consumers, its frames) rather than the process. */
function isCameraSeries(name: string): boolean {
  return !name.startsWith('heart.loop.') && name !== HeartMetric.threadCpu
}

/**
 * One camera's catalogue when there are several: its capture's and its
 * consumers' series, without the process's (loop, threads); exported with
 * camera="NAME" (every camera's registry has the same layout).
 */
export function cameraMetricsCatalogue(consumers: readonly string[]): Catalogue {
  return joinCatalogues(captureMetrics(), kernelMetrics({ consumers }).filter((d) => isCameraSeries(d.name)))
}
