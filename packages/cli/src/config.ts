import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { boolean, checkedBy, configError, consumerListSchemaFor, kernelConfigShape, object, optional, readConfigFile, show, string, validate, z, type ConsumerConfig, type Infer } from '@heart/kernel'
import { cameraOptionsSchema, cameraOptionsShape, checkCameraOptions, parseSource } from '@heart/capture'
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
/** A source URL, checked by the URL grammar here, so a bad source is one more problem in the same report (exit 2). */
function sourceSchema(fallback?: string): z.ZodType<string> {
  return checkedBy(
    string({ ...(fallback === undefined ? {} : { default: fallback }), hint: 'a source URL (rtsp://, file://, v4l2://, testsrc://, synthetic://)' }),
    (url) => void parseSource(url),
    (message) => message.replace(/^invalid source: /, ''),
  )
}

/** Camera names become routes, metric labels and MQTT topics (DESIGN.md "Cameras and sources"). */
export const CAMERA_NAME_PATTERN = /^[a-z0-9_]{1,32}$/

/** How many cameras one heart takes: each has a capture thread and its consumers. */
export const MAX_CAMERAS = 16

/** One entry of `cameras:`: its source and capture options, and its own consumers and recording if it has them. */
const cameraEntrySchema = object({
  source: sourceSchema(),
  /** false: configured but not started (kept in the config, shown as disabled in /health). */
  enabled: boolean({ default: true }),
  ...cameraOptionsShape,
  /** This camera's consumers; absent: the top-level `consumers:` (filled in before checking, withCameraDefaults). */
  consumers: consumerListSchemaFor(consumerKinds),
  /** This camera's recording; absent: the top-level `record:` (filled in before checking). */
  record: recordConfigSchema,
}).superRefine(checkCameraOptions)

const camerasSchema = z
  .record(z.string(), cameraEntrySchema, { error: (iss) => `got ${show(iss.input)}, expected an object of NAME: { source, ... } entries` })
  .superRefine((cameras, ctx) => {
    const names = Object.keys(cameras)
    for (const name of names) {
      if (!CAMERA_NAME_PATTERN.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `camera name ${show(name)} is not allowed, expected lower-case letters, digits and _ (at most 32)` })
    }
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'no camera, expected at least one NAME: { source: URL } entry (or leave cameras out and write source:)' })
    if (names.length > MAX_CAMERAS) ctx.addIssue({ code: 'custom', message: `${names.length} cameras, at most ${MAX_CAMERAS} allowed in one heart` })
  })

export const heartConfigSchema = object({
  ...kernelConfigShape,
  /** Where and how HTTP serves: address, token, allowed hosts, TLS, limits (docs/security.md). */
  http: httpConfigSchema,
  /** The camera URL (the source grammar: docs/sources.md): shorthand for one camera named `main`. */
  source: sourceSchema('testsrc://?size=1920x1080&fps=60'),
  /** Several cameras by name, each with its source and capture options (docs/cameras.md); replaces `source:`. */
  cameras: optional(camerasSchema as unknown as z.ZodType<Record<string, Infer<typeof cameraEntrySchema>>>),
  /** Capture options beyond the URL (decoder, pixFmt, expect, reconnect...): see docs/capture.md; with `cameras:` the defaults of every camera. */
  camera: cameraOptionsSchema.superRefine(checkCameraOptions),
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

type CameraOptions = HeartConfig['camera']

/** One camera as `heart run` starts it: the `cameras:` entry (or the one-camera shorthand) with every default applied. */
export interface CameraPlan {
  name: string
  /** false: configured, not started. */
  enabled: boolean
  source: string
  /** Capture options: the camera's own over the top-level `camera:` section. */
  options: CameraOptions
  /** Its enabled consumers (its own list, else the top-level one). */
  consumers: HeartConfig['consumers']
  record: HeartConfig['record']
  /** Where its problems are named in the config ("cameras.front", or "" for the shorthand). */
  path: string
}

/** The name of the one camera of `source:` / `--source`. */
export const SHORTHAND_CAMERA = 'main'

/** The cameras of a checked config, in the order written; the first is the one the wave-1 keys and routes address. */
export function cameraPlans(config: HeartConfig): CameraPlan[] {
  if (!config.cameras) {
    return [{ name: SHORTHAND_CAMERA, enabled: true, source: config.source, options: config.camera, consumers: config.consumers.filter((c) => c.enabled), record: config.record, path: '' }]
  }
  return Object.entries(config.cameras).map(([name, entry]) => {
    const { source, enabled, consumers, record, ...options } = entry
    return {
      name,
      enabled,
      source,
      options: options as CameraOptions,
      consumers: consumers.filter((c) => c.enabled),
      record,
      path: `cameras.${name}`,
    }
  })
}

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
  const conflicts: string[] = []
  if (merged.cameras !== undefined && merged.cameras !== null) {
    if (overrides.source !== undefined) conflicts.push(`--source: ${show(overrides.source)} given, but the config names its cameras (cameras:); drop --source or write the camera into cameras:`)
    else if (raw && typeof raw === 'object' && 'source' in raw) conflicts.push('source: given beside cameras:, expected one of them (source: is the shorthand for one camera named main)')
    merged.cameras = withCameraDefaults(merged.cameras, { camera: merged.camera, consumers: merged.consumers, record: merged.record })
  }
  const { value, problems } = validate(heartConfigSchema, merged)
  if (conflicts.length + problems.length > 0) throw configError([...conflicts, ...problems], file ?? 'built-in defaults')
  return value
}

/**
 * The top-level sections as every camera's defaults, as written: capture
 * options from `camera:` key by key under the camera's own, and `consumers:`
 * and `record:` where the camera has none. The merged entries are checked
 * by the schema as the camera's own.
 */
function withCameraDefaults(cameras: unknown, defaults: { camera: unknown; consumers: unknown; record: unknown }): unknown {
  if (!isPlainObject(cameras)) return cameras
  const options = isPlainObject(defaults.camera) ? defaults.camera : {}
  return Object.fromEntries(
    Object.entries(cameras).map(([name, entry]) => {
      if (!isPlainObject(entry)) return [name, entry]
      const merged: Record<string, unknown> = { ...options, ...entry }
      if (entry.consumers === undefined) merged.consumers = defaults.consumers
      if (entry.record === undefined && defaults.record !== undefined) merged.record = defaults.record
      return [name, merged]
    }),
  )
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
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
  for (const [name, entry] of Object.entries(config.cameras ?? {})) problems.push(...(await checkConsumers(entry.consumers, configDir, undefined, `cameras.${name}.consumers`)))
  if (problems.length > 0) throw configError(problems, file ?? 'built-in defaults')
  return { config, configDir }
}
