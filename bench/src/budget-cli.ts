// Flags of `heart budget` (the CLI hands its arguments to the bench entry).
import { writeFile } from 'node:fs/promises'
import type { PixelFormatName } from '@heart/ring'
import { budgetMarkdown, computeBudget, formatBudget, standardConfigurations, type BudgetConfig, type WireCodec } from './budget.js'

export const BUDGET_HELP = `usage: heart budget [options]

The bandwidth and memory budget of a camera configuration.

options:
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

/** Parses `heart budget` flags into a partial config plus the output mode. */
export function parseBudgetArgs(args: readonly string[]): { config: Partial<BudgetConfig>; json: boolean; standard: boolean; markdown?: string; help: boolean } {
  const config: Partial<BudgetConfig> = {}
  let json = false
  let standard = false
  let help = false
  let markdown: string | undefined
  for (let i = 0; i < args.length; i++) {
    const raw = args[i]!
    if (!raw.startsWith('--')) throw new BudgetUsageError(`heart budget takes no positional arguments (got "${raw}")`)
    const [name, inline] = raw.slice(2).split('=', 2) as [string, string | undefined]
    const value = (): string => {
      const v = inline ?? args[++i]
      if (v === undefined) throw new BudgetUsageError(`--${name} needs a value`)
      return v
    }
    if (name === 'json') json = true
    else if (name === 'standard') standard = true
    else if (name === 'help') help = true
    else if (name === 'markdown') markdown = value()
    else if (name === 'size') {
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
  return { config, json, standard, markdown, help }
}

/** Runs `heart budget`; resolves with the exit code. */
export async function budgetMain(args: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let parsed: ReturnType<typeof parseBudgetArgs>
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
    const budgets = parsed.standard ? standardConfigurations().map((s) => computeBudget({ ...parsed.config, ...s.config })) : [computeBudget(parsed.config)]
    out(parsed.json ? JSON.stringify(parsed.standard ? budgets : budgets[0], null, 2) + '\n' : budgets.map(formatBudget).join('\n\n') + '\n')
    return 0
  } catch (error) {
    if (error instanceof BudgetUsageError || error instanceof RangeError) {
      process.stderr.write(`heart budget: ${error.message}\n`)
      return 2
    }
    throw error
  }
}
