import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { checkedBy, configError, consumerListSchemaFor, kernelConfigShape, object, parseConfig, readConfigFile, string, type ConsumerConfig, type Infer } from '@heart/kernel'
import { cameraOptionsSchema, parseSource } from '@heart/capture'
import { thermalConfigSchema } from '@heart/thermal'
import { recordConfigSchema } from '@heart/record'
import { telemetryConfigSchema } from '@heart/telemetry'
import { mqttConfigSchema } from '@heart/mqtt'
import { checkConsumers, consumerKinds } from './consumer-kinds.js'
import { httpConfigSchema } from './http/config.js'

/**
 * heart's whole config, one schema: the kernel's sections, the camera source,
 * the sections whose schemas their packages export (camera, thermal,
 * telemetry) and the consumers, each checked by its kind's option schema. One
 * pass reports every problem of a file; `heart config schema` prints it as
 * JSON Schema. Everything has a default, so no file is needed.
 */
export const heartConfigSchema = object({
  ...kernelConfigShape,
  /** Where and how HTTP serves: address, token, allowed hosts, TLS, limits (docs/security.md). */
  http: httpConfigSchema,
  /** The camera URL (the source grammar: docs/sources.md). */
  // The URL grammar checks the URL here, so a bad source is one more problem in the same report (exit 2).
  source: checkedBy(
    string({ default: 'testsrc://?size=1920x1080&fps=60', hint: 'a source URL (rtsp://, file://, v4l2://, testsrc://, synthetic://)' }),
    (url) => void parseSource(url),
    (message) => message.replace(/^invalid source: /, ''),
  ),
  /** Capture options beyond the URL (decoder, pixFmt, expect, reconnect...): see docs/capture.md. */
  camera: cameraOptionsSchema,
  consumers: consumerListSchemaFor(consumerKinds),
  /** Recording the compressed stream: segments, retention, clips (docs/recording.md). */
  record: recordConfigSchema,
  /** The MLX90640 thermal sensor: see docs/thermal.md. */
  thermal: thermalConfigSchema,
  /** OTLP export, trace sampling, Prometheus: see docs/telemetry.md. */
  telemetry: telemetryConfigSchema,
  /** Events, health and the AI-lock command through an MQTT broker; off without `url` (docs/mqtt.md). */
  mqtt: mqttConfigSchema,
})

export type HeartConfig = Infer<typeof heartConfigSchema>

/**
 * The consumers `heart run` starts when the config names none: the movement
 * detector, the detection client (CodeProject.AI's default address, 5 frames
 * a second; with no service there it counts refused requests and goes on) and
 * the telemetry encoder behind the live view.
 */
export function defaultConsumers(): ConsumerConfig[] {
  const entry = (name: string, kind: string, extra: Partial<ConsumerConfig> = {}): ConsumerConfig => ({
    name,
    kind,
    enabled: true,
    depth: undefined,
    fpsCap: undefined,
    skipAiLocked: undefined,
    module: undefined,
    options: undefined,
    ...extra,
  })
  return [
    // Six queued frames (100 ms at 60 FPS): on a busy 2-core machine a worker
    // thread can wait that long for a core. The detector needs ~3 ms a frame,
    // so it empties the queue within a few frames once it runs; depth 2 lost
    // frames to such waits (docs/consumers.md has the measurements).
    entry('movement_detector', 'motion', { depth: 6 }),
    // Capped consumers: the ring skips frames over the cap when it publishes
    // (counted rate_limited), so their queues only ever hold frames they will
    // use, and three is slack for a worker waiting for a core. Every queued
    // frame is a slot in memory (3 MB at 1080p): depths are kept to need.
    entry('detection_client', 'detection', {
      depth: 3,
      fpsCap: 5,
      options: { protocol: 'deepstack', deepstack: { url: 'http://127.0.0.1:32168' } },
    }),
    entry('telemetry_stream', 'encoder', { depth: 3, options: { fps: 15 } }),
  ]
}

export interface ConfigOverrides {
  source?: string
  http?: { host: string; port: number }
}

/** Where a service install keeps its config (deploy/systemd/heart.service passes it with --config too). */
export const SYSTEM_CONFIG_FILE = '/etc/heart/heart.yaml'

/**
 * The config file when the command line names none: $HEART_CONFIG, else
 * /etc/heart/heart.yaml when it exists, else none (the built-in defaults).
 */
export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env, systemFile = SYSTEM_CONFIG_FILE): string | undefined {
  if (env.HEART_CONFIG) return env.HEART_CONFIG
  return existsSync(systemFile) ? systemFile : undefined
}

/** Reads the file (if any), applies command-line overrides, validates, fills defaults. */
export function loadHeartConfig(file: string | undefined, overrides: ConfigOverrides = {}): HeartConfig {
  const raw = (file ? readConfigFile(file) : {}) as Record<string, unknown>
  const merged: Record<string, unknown> = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { ...raw } : (raw as never)
  if (overrides.source !== undefined) merged.source = overrides.source
  if (overrides.http) merged.http = { ...(merged.http as object | undefined), ...overrides.http }
  // No consumers written: the standard ones, checked by the same schema (`consumers: []` means none).
  if (merged.consumers === undefined) merged.consumers = defaultConsumers()
  return parseConfig(heartConfigSchema, merged, file ?? 'built-in defaults')
}

/** A config loaded and fully checked, with the folder its relative paths start from. */
export interface CheckedConfig {
  config: HeartConfig
  /** Paths in the config (a module consumer's file) are relative to the config file's folder. */
  configDir: string
}

/**
 * Everything `heart run` checks before it starts anything: the schema, then
 * what needs the file system (module consumers' files and exports). Throws
 * CONFIG_INVALID naming every problem. `heart config check` runs exactly this.
 */
export async function loadCheckedConfig(file: string | undefined, overrides: ConfigOverrides = {}): Promise<CheckedConfig> {
  const config = loadHeartConfig(file, overrides)
  const configDir = file ? dirname(resolve(file)) : process.cwd()
  const problems = await checkConsumers(config.consumers, configDir)
  if (problems.length > 0) throw configError(problems, file ?? 'built-in defaults')
  return { config, configDir }
}
