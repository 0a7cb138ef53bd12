// Flags of `heart budget` (the CLI hands its arguments to the bench entry).
import { writeFile } from 'node:fs/promises'
import type { PixelFormatName } from '@heart/ring'
import { budgetMarkdown, computeBudget, formatBudget, standardConfigurations, WIRE_CODECS, type BudgetConfig, type WireCodec } from './budget.js'
import { rigFromConfig } from './budget-config.js'
import { CAMERA_NAME_PATTERN, cameraFields, computeRigBudget, formatRigBudget, type CameraBudgetInput, type RigBudgetOptions } from './budget-cameras.js'

export const BUDGET_HELP = `usage: heart budget [options]

The bandwidth and memory budget of a camera configuration, or of a rig of
several cameras (--cameras, --camera, --record, --xlsx): per camera and in
total, frame and packet rings, bandwidth, storage an hour and CPU.

options:
  --cameras N        N identical cameras (cam1..camN) of the other flags
  --camera SPEC      one camera of a mixed rig, NAME:WxH@FPS[:CODEC]
                     (front:1920x1080@30:h264); repeat it for each camera
  --config FILE      the cameras of a heart config, as heart run would start
                     them (ring size, format, consumers, depth, recording);
                     --fps, --codec, --bitrate give what it cannot say
  --record           every camera records: storage an hour, pre-roll in the packet ring
  --no-motion        no movement detector on every frame (the CPU estimate counts one)
  --cores N          cores the CPU estimate is stated against (default: this machine's)
  --xlsx FILE        write the rig's budget as a spreadsheet with live formulas
  --size WxH         frame size (default 1920x1080)
  --fps N            frames per second (default 60)
  --format F         pixel format in the ring: yuv420p | nv12 | rgb24 | bgr24 | gray (default yuv420p)
  --codec C          on the wire: h264 | hevc | mjpeg | raw (default h264)
  --bitrate MBIT     wire bitrate in Mbit/s (default: an estimate for the codec)
  --consumers N      consumer workers (default 4)
  --depth N          queue depth per consumer (default 2)
  --leases N         leases a consumer may hold (default 1)
  --spare N          spare consumer places (default 2)
  --buffers N        raw capture buffers in CMA (default 4)
  --thermal-hz N     MLX90640 frames per second (default 10)
  --mem-bw MBS       usable memory bandwidth, MB/s, for headroom (default 3000)
  --cma-mb MB        CMA pool size, MB (default 256)
  --pre-seconds S    longest clip pre-roll, record.preSeconds (default 5): sizes the packet ring
  --gop-seconds S    the camera's keyframe interval, record.maxGopSeconds (default 4)
  --standard         every standard configuration (1080p30/60, 720p60, 4K30 x yuv420p/nv12/rgb24)
  --markdown FILE    with --standard: write the planning page (docs/planning/camera_ingest_budget.md)
  --json             print JSON instead of text
  --help             show this help
`

const NUMBER_FLAGS: Record<string, keyof BudgetConfig> = {
  fps: 'fps',
  bitrate: 'bitrateMbps',
  consumers: 'consumers',
  depth: 'depth',
  leases: 'leases',
  spare: 'spare',
  buffers: 'captureBuffers',
  'thermal-hz': 'thermalHz',
  'mem-bw': 'memBandwidthMBs',
  'cma-mb': 'cmaMB',
  'pre-seconds': 'preSeconds',
  'gop-seconds': 'gopSeconds',
}

export class BudgetUsageError extends Error {}

/** A rig as the flags give it: its cameras and the rig-wide options. */
export interface RigArgs {
  cameras: CameraBudgetInput[]
  options: Partial<RigBudgetOptions>
  /** --config: cameras of the file left out (enabled: false). */
  disabled?: string[]
}

export interface BudgetArgs {
  config: Partial<BudgetConfig>
  json: boolean
  standard: boolean
  markdown?: string
  xlsx?: string
  /** Present when a rig flag (--cameras, --camera, --record, --no-motion, --cores, --xlsx) asks for the multi-camera budget. */
  rig?: RigArgs
  help: boolean
}

/** The rig docs/planning/camera_ingest_budget.xlsx is generated for: 4 x 1080p30 H.264, recording, on the 2-core development machine. */
export const STANDARD_RIG_ARGS: readonly string[] = ['--cameras', '4', '--fps', '30', '--record', '--cores', '2']

const MAX_CAMERAS = 64
const CAMERA_SPEC = /^([^:]*):(\d+)x(\d+)@([^:]+)(?::([^:]*))?$/

/** One --camera NAME:WxH@FPS[:CODEC]: each mistake named with the spec it was found in. */
export function parseCameraSpec(spec: string): CameraBudgetInput {
  const m = CAMERA_SPEC.exec(spec)
  if (!m) throw new BudgetUsageError(`--camera must look like NAME:WxH@FPS[:CODEC] (front:1920x1080@30:h264), got "${spec}"`)
  const [, name, width, height, fpsText, codec] = m as unknown as [string, string, string, string, string, string | undefined]
  if (!CAMERA_NAME_PATTERN.test(name)) throw new BudgetUsageError(`--camera "${spec}": the name "${name}" may have only lower-case letters, digits and _`)
  const fps = Number(fpsText)
  if (!(Number.isFinite(fps) && fps > 0)) throw new BudgetUsageError(`--camera "${spec}": the rate "${fpsText}" must be a positive number of frames a second`)
  if (!(Number(width) > 0 && Number(height) > 0)) throw new BudgetUsageError(`--camera "${spec}": the size ${width}x${height} must be above 0 in both directions`)
  const camera: CameraBudgetInput = { name, width: Number(width), height: Number(height), fps }
  if (codec !== undefined) {
    if (!(WIRE_CODECS as readonly string[]).includes(codec)) throw new BudgetUsageError(`--camera "${spec}": the codec "${codec}" is not one of ${WIRE_CODECS.join(', ')}`)
    camera.codec = codec as WireCodec
  }
  return camera
}

/** Parses `heart budget` flags into a partial config plus the output mode. */
export function parseBudgetArgs(args: readonly string[]): BudgetArgs {
  const config: Partial<BudgetConfig> = {}
  let json = false
  let standard = false
  let help = false
  let markdown: string | undefined
  let xlsx: string | undefined
  let cameraCount: number | undefined
  const specs: CameraBudgetInput[] = []
  const rigFlags: string[] = []
  const rigOptions: Partial<RigBudgetOptions> = {}
  let motion = true
  let configFile: string | undefined
  for (let i = 0; i < args.length; i++) {
    const raw = args[i]!
    if (!raw.startsWith('--')) throw new BudgetUsageError(`heart budget takes no positional arguments (got "${raw}")`)
    const [name, inline] = raw.slice(2).split('=', 2) as [string, string | undefined]
    const value = (): string => {
      const v = inline ?? args[++i]
      if (v === undefined) throw new BudgetUsageError(`--${name} needs a value`)
      return v
    }
    const wholeNumber = (max: number): number => {
      const v = value()
      const n = Number(v)
      if (!(Number.isInteger(n) && n >= 1 && n <= max)) throw new BudgetUsageError(`--${name} must be a whole number from 1 to ${max}, got "${v}"`)
      return n
    }
    if (name === 'json') json = true
    else if (name === 'standard') standard = true
    else if (name === 'help') help = true
    else if (name === 'markdown') markdown = value()
    else if (name === 'xlsx') {
      xlsx = value()
      rigFlags.push('--xlsx')
    } else if (name === 'cameras') {
      cameraCount = wholeNumber(MAX_CAMERAS)
      rigFlags.push('--cameras')
    } else if (name === 'camera') {
      const camera = parseCameraSpec(value())
      if (specs.some((c) => c.name === camera.name)) throw new BudgetUsageError(`--camera: the name "${camera.name}" is given twice; each camera needs its own name`)
      specs.push(camera)
      rigFlags.push('--camera')
    } else if (name === 'config') {
      configFile = value()
      rigFlags.push('--config')
    } else if (name === 'record') {
      rigOptions.record = true
      rigFlags.push('--record')
    } else if (name === 'no-motion') {
      motion = false
      rigFlags.push('--no-motion')
    } else if (name === 'cores') {
      rigOptions.cores = wholeNumber(1024)
      rigFlags.push('--cores')
    } else if (name === 'size') {
      const v = value()
      const m = /^(\d+)x(\d+)$/.exec(v)
      if (!m) throw new BudgetUsageError(`--size must look like 1920x1080, got "${v}"`)
      config.width = Number(m[1])
      config.height = Number(m[2])
    } else if (name === 'format') config.pixFmt = value() as PixelFormatName
    else if (name === 'codec') config.codec = value() as WireCodec
    else if (name in NUMBER_FLAGS) {
      const v = value()
      const n = Number(v)
      if (!(Number.isFinite(n) && n > 0)) throw new BudgetUsageError(`--${name} must be a positive number, got "${v}"`)
      ;(config as Record<string, number>)[NUMBER_FLAGS[name]!] = n
    } else throw new BudgetUsageError(`unknown option --${name}; see heart budget --help`)
  }
  if (markdown && !standard) throw new BudgetUsageError('--markdown writes the standard table: add --standard')
  if (rigFlags.length === 0) return { config, json, standard, markdown, help }
  const given = [...new Set(rigFlags)].join(', ')
  if (standard) throw new BudgetUsageError(`--standard tabulates one camera per standard configuration and takes no rig flags (got ${given})`)
  if (configFile !== undefined) {
    const others = given.split(', ').filter((f) => f !== '--config' && f !== '--xlsx' && f !== '--cores')
    if (others.length > 0) throw new BudgetUsageError(`--config takes its cameras from the file: drop ${others.join(', ')}`)
    for (const [flag, set] of [['--size', config.width !== undefined], ['--format', config.pixFmt !== undefined], ['--consumers', config.consumers !== undefined], ['--depth', config.depth !== undefined]] as const) {
      if (set) throw new BudgetUsageError(`${flag} has no effect with --config (the file says it for each camera): drop ${flag}`)
    }
    const fromFile = rigFromConfig(configFile)
    // The flags give what a config cannot say: the rate where the source does not state one, the codec, the bitrate.
    const cameras = fromFile.cameras.map((camera) => ({ ...cameraFields(config), ...camera }))
    return { config, json, standard, markdown, xlsx, rig: { cameras, options: { ...rigOptions, ...fromFile.options }, disabled: fromFile.disabled }, help }
  }
  if (cameraCount !== undefined && specs.length > 0) throw new BudgetUsageError('--cameras N gives N identical cameras and --camera lists them one by one: use one of the two')
  if (specs.length > 0) {
    for (const [flag, set] of [['--size', config.width !== undefined], ['--fps', config.fps !== undefined]] as const) {
      if (set) throw new BudgetUsageError(`${flag} has no effect with --camera (each --camera NAME:WxH@FPS gives its own size and rate): drop ${flag}`)
    }
  }
  const shared = { ...cameraFields(config), motion }
  const cameras: CameraBudgetInput[] =
    specs.length > 0
      ? specs.map((spec) => ({ ...shared, ...spec }))
      : cameraCount === undefined
        ? [{ ...shared, name: 'main' }]
        : Array.from({ length: cameraCount }, (_, i) => ({ ...shared, name: `cam${i + 1}` }))
  const options: Partial<RigBudgetOptions> = { ...rigOptions }
  if (config.memBandwidthMBs !== undefined) options.memBandwidthMBs = config.memBandwidthMBs
  if (config.cmaMB !== undefined) options.cmaMB = config.cmaMB
  if (config.thermalHz !== undefined) options.thermalHz = config.thermalHz
  return { config, json, standard, markdown, xlsx, rig: { cameras, options }, help }
}

/** Runs `heart budget`; resolves with the exit code. */
export async function budgetMain(args: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let parsed: BudgetArgs
  try {
    parsed = parseBudgetArgs(args)
    if (parsed.help) {
      out(BUDGET_HELP)
      return 0
    }
    if (parsed.markdown) {
      await writeFile(parsed.markdown, budgetMarkdown(parsed.config))
      out(`wrote ${parsed.markdown}\n`)
      return 0
    }
    if (parsed.rig) {
      const rig = computeRigBudget(parsed.rig.cameras, parsed.rig.options)
      if (parsed.xlsx) {
        // Loaded only here: exceljs is large and the other modes never need it.
        const { writeRigBudgetXlsx } = await import('./budget-xlsx.js')
        await writeRigBudgetXlsx(rig, parsed.xlsx)
        out(`wrote ${parsed.xlsx}\n`)
        return 0
      }
      const skipped = parsed.rig.disabled ?? []
      out(parsed.json ? JSON.stringify(skipped.length > 0 ? { ...rig, disabled: skipped } : rig, null, 2) + '\n' : formatRigBudget(rig) + '\n' + (skipped.length > 0 ? `not counted (enabled: false in the config): ${skipped.join(', ')}\n` : ''))
      return 0
    }
    const budgets = parsed.standard ? standardConfigurations().map((s) => computeBudget({ ...parsed.config, ...s.config })) : [computeBudget(parsed.config)]
    out(parsed.json ? JSON.stringify(parsed.standard ? budgets : budgets[0], null, 2) + '\n' : budgets.map(formatBudget).join('\n\n') + '\n')
    return 0
  } catch (error) {
    if (error instanceof BudgetUsageError || error instanceof RangeError) {
      process.stderr.write(`heart budget: ${error.message}\n`)
      return 2
    }
    // --config FILE: a file heart run would refuse is refused here with the same named message (and exit 2, no stack).
    const code = (error as { code?: unknown }).code
    if (error instanceof Error && typeof code === 'string' && (code.startsWith('CONFIG_') || code === 'INVALID_CONFIG')) {
      process.stderr.write(`heart budget: [${code}] ${error.message}\n`)
      return 2
    }
    throw error
  }
}
