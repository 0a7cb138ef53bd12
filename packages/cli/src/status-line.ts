import type { HealthReport } from '@heart/kernel'

const COLOURS = { green: '\x1b[32m', yellow: '\x1b[33m', red: '\x1b[31m' } as const
const RESET = '\x1b[0m'

// Drops (lost frames) and skips (a consumer's fpsCap or AI-lock) are shown apart:
// a capped consumer must never look like one losing frames.
function totalOf(report: HealthReport, book: 'dropped' | 'skipped'): number {
  let n = 0
  // Every camera's consumers (with one camera, `consumers` is that camera's).
  const lists = report.cameras ? Object.values(report.cameras).map((c) => c.consumers) : [report.consumers]
  for (const consumers of lists) for (const c of Object.values(consumers)) for (const d of Object.values(c[book] ?? {})) n += d
  return n
}

function fmt(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits)
}

/**
 * The workers and consumers that need attention, in a few words each: a
 * stuck, restarting, crash-looping or failed worker, a consumer whose
 * outside service does not answer. Empty while all is well.
 */
export function troubleOf(report: HealthReport): string[] {
  const out: string[] = []
  for (const [name, w] of Object.entries(report.workers)) {
    const why = w.last_exit ? ` (${w.last_exit})` : ''
    if (w.crash_looping && w.state !== 'running') out.push(`${name} crash-looping${why}`)
    else if (w.state === 'stalled' || w.state === 'restarting' || w.state === 'failed') out.push(`${name} ${w.state}${w.state === 'stalled' ? '' : why}`)
    else if (w.stall_ms !== undefined && (w.stalled_for_ms ?? 0) >= w.stall_ms / 2) out.push(`${name} stuck ${w.stalled_for_ms} ms`)
  }
  const cameras = report.cameras && Object.keys(report.cameras).length > 1 ? Object.entries(report.cameras) : [['', { consumers: report.consumers }] as const]
  for (const [camera, { consumers }] of cameras) {
    for (const [name, c] of Object.entries(consumers)) {
      if (c.service?.state === 'unreachable' || c.service?.state === 'failing') out.push(`${camera ? `${camera}.` : ''}${name} service ${c.service.state}`)
    }
  }
  return out
}

/** A camera's state in at most four letters, for the several-camera line. */
const SHORT_STATE: Record<string, string> = { backoff: 'down', connecting: 'conn', disabled: 'off', stopped: 'stop', idle: 'idle' }

/** Several cameras in a few characters each: the frame rate of a streaming one, else its state ("rear down"). */
function camerasPart(cameras: NonNullable<HealthReport['cameras']>): string {
  return Object.entries(cameras)
    .map(([name, c]) => `${name} ${c.state === 'streaming' ? fmt(c.frames_per_s, 0) : (SHORT_STATE[c.state] ?? c.state)}`)
    .join(' ')
}

/** One terminal line: status, camera, drops, thermal, loop, resident memory, and the consumers in trouble. */
export function statusLine(report: HealthReport, colour: boolean): string {
  const c = report.camera
  const status = colour ? `${COLOURS[report.status]}${report.status.toUpperCase()}${RESET}` : report.status.toUpperCase()
  const thermal = report.thermal ? ` | thermal ${fmt(report.thermal.frames_per_s)} Hz loss ${fmt(report.thermal.loss_ratio * 100)}%` : ''
  const trouble = troubleOf(report)
  if (report.cameras && Object.keys(report.cameras).length > 1) {
    // Four cameras must fit 80 columns: a rate (or state) per camera, then lost frames and the loop
    return (
      // (skips, memory and thermal are in /health; the line keeps what says a camera or the loop is in trouble)
      `${status} | ${camerasPart(report.cameras)} fps | drops ${totalOf(report, 'dropped')} | tick p99 ${fmt(report.loop.tick_ms_p99, 1)} ms` +
      (trouble.length > 0 ? ` | attention: ${trouble.join(', ')}` : '')
    )
  }
  return (
    `${status} | ${c.state} ${fmt(c.frames_per_s)} fps decode p50 ${fmt(c.decode_ms_p50)} p99 ${fmt(c.decode_ms_p99)} ms` +
    ` age ${fmt(c.last_frame_age_ms, 0)} ms | drops ${totalOf(report, 'dropped')} skipped ${totalOf(report, 'skipped')}${thermal}` +
    ` | tick p99 ${fmt(report.loop.tick_ms_p99, 2)} max ${fmt(report.loop.tick_ms_max, 2)} ms` +
    ` | rss ${fmt(report.memory.rss_mb, 0)} MB` +
    (trouble.length > 0 ? ` | attention: ${trouble.join(', ')}` : '')
  )
}

/**
 * Prints health once a second: an updating line on a terminal, one JSON
 * object a line otherwise (for journald, pipes and scripts).
 */
export class StatusPrinter {
  private readonly tty: boolean
  private readonly write: (text: string) => void
  private printedLine = false

  private readonly colour: boolean
  private readonly columns: () => number

  constructor(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env) {
    this.tty = stream.isTTY === true
    // https://no-color.org: any non-empty NO_COLOR turns colour off.
    this.colour = this.tty && !env.NO_COLOR
    this.columns = () => (stream.columns && stream.columns > 20 ? stream.columns : 80)
    this.write = (text) => void stream.write(text)
  }

  print(report: HealthReport): void {
    if (this.tty) {
      // One line that fits the terminal (80 columns when it does not say): a longer one would wrap and scroll.
      this.write(`\r\x1b[2K${fitColumns(attentionFirst(statusLine(report, this.colour)), this.columns() - 1)}`)
      this.printedLine = true
    } else {
      this.write(JSON.stringify({ time: new Date().toISOString(), type: 'status', ...report }) + '\n')
    }
  }

  /** Ends the updating line so later output starts on a fresh one. */
  finish(): void {
    if (this.tty && this.printedLine) this.write('\n')
  }
}

/** Cuts a line to `columns` visible characters (colour codes do not count), ending it with an ellipsis. */
export function fitColumns(line: string, columns: number): string {
  let visible = 0
  let out = ''
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i)
      out += line.slice(i, end + 1)
      i = end
      continue
    }
    if (visible === columns - 1 && stripColour(line.slice(i)).length > 1) return out + '\u2026' + (line.includes('\x1b') ? RESET : '')
    out += line[i]
    visible++
  }
  return out
}

function stripColour(text: string): string {
  // The escape character is the point: these are the terminal's colour codes.
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '')
}

/** What needs attention right after the status word: it is what the cut of a narrow terminal must not lose. */
export function attentionFirst(line: string): string {
  const at = line.indexOf(' | attention: ')
  if (at < 0) return line
  const first = line.indexOf(' | ')
  return line.slice(0, first) + line.slice(at) + line.slice(first, at)
}
