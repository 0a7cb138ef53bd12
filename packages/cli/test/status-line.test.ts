import t from 'tap'
import { PassThrough } from 'node:stream'
import type { HealthReport } from '@heart/kernel'
import { StatusPrinter, statusLine } from '../src/status-line.js'

const report = {
  status: 'yellow',
  reasons: ['x'],
  camera: { state: 'streaming', frames_per_s: 59.94, decode_ms_p50: 2.1, decode_ms_p99: 4.25, decode_ms_first_frame: 30, last_frame_age_ms: 12, reopens_total: 1, decode_errors_total: 0, backend: 'software', ai_locked: false },
  consumers: { motion: { delivered: 10, dropped: { motion_slow: 2, stale: 1 }, skipped: { rate_limited: 7 }, lag: 0, state: 'active', published: 13 } },
  thermal: { frames_per_s: 10, lost_total: 0, loss_ratio: 0.01 },
  loop: { tick_ms_p50: 5.01, tick_ms_p99: 5.6, tick_ms_max: 7.2, late_ticks: 0, work_ms_p99: 0.1, lateness_ms_p99: 0.6 },
  loop_whole_run: { tick_ms_p50: 5.01, tick_ms_p99: 9.1, tick_ms_max: 40, late_ticks: 3, work_ms_p99: 0.1, lateness_ms_p99: 4.1 },
  workers: {},
  events: { queued: 0, dropped: 0 },
  memory: { rss_mb: 351.62, main_heap_used_mb: 20, main_heap_total_mb: 30, array_buffers_mb: 80 },
  uptime_s: 3,
} as HealthReport

t.test('the terminal line carries status, rate, decode, drops, thermal and loop', async (t) => {
  t.equal(
    statusLine(report, false),
    'YELLOW | streaming 59.9 fps decode p50 2.1 p99 4.3 ms age 12 ms | drops 3 skipped 7 | thermal 10.0 Hz loss 1.0% | tick p99 5.60 max 7.20 ms | rss 352 MB',
  )
  t.match(statusLine(report, true), /\x1b\[33mYELLOW\x1b\[0m/)
})

t.test('JSON lines when not a terminal; an updating line on one', async (t) => {
  const pipe = new PassThrough() as unknown as NodeJS.WriteStream
  let out = ''
  ;(pipe as unknown as PassThrough).on('data', (d) => (out += d))
  const printer = new StatusPrinter(pipe)
  printer.print(report)
  printer.finish()
  const line = JSON.parse(out.trim())
  t.match(line, { type: 'status', status: 'yellow', camera: { frames_per_s: 59.94 } })

  const tty = new PassThrough() as unknown as NodeJS.WriteStream & { isTTY: boolean }
  tty.isTTY = true
  let screen = ''
  ;(tty as unknown as PassThrough).on('data', (d) => (screen += d))
  const live = new StatusPrinter(tty)
  live.print(report)
  live.print(report)
  live.finish()
  t.match(screen, /^\r\x1b\[2K.*YELLOW.*\r\x1b\[2K.*\n$/s)
})

t.test('the line names the workers and consumers that need attention, and nothing while all is well', async (t) => {
  const worker = { state: 'running', starts: 1, crashes: 0, restarts: 0, last_crash: null, last_exit: null, crash_looping: false, heap_used_mb: 5, heap_total_mb: 8 }
  const troubled = {
    ...report,
    workers: {
      fine: { ...worker, stall_ms: 5000, stalled_for_ms: 0 },
      unruly: { ...worker, state: 'stalled', stall_ms: 5000, stalled_for_ms: 5001 },
      motion: { ...worker, state: 'restarting', crashes: 1, last_exit: 'stalled', stall_ms: 5000, stalled_for_ms: 0 },
      hoarder: { ...worker, state: 'restarting', crashes: 4, last_exit: 'out_of_memory', crash_looping: true, stall_ms: 5000, stalled_for_ms: 0 },
      slowpoke: { ...worker, stall_ms: 5000, stalled_for_ms: 3000 },
    },
    consumers: {
      ...report.consumers,
      detection_client: { delivered: 1, dropped: {}, skipped: {}, lag: 0, state: 'active', published: 1, service: { state: 'unreachable', last_error: 'ECONNREFUSED', errors_total: 3 } },
    },
  } as HealthReport
  t.match(
    statusLine(troubled, false),
    / \| rss 352 MB \| attention: unruly stalled, motion restarting \(stalled\), hoarder crash-looping \(out_of_memory\), slowpoke stuck 3000 ms, detection_client service unreachable$/,
  )
  t.notMatch(statusLine(report, false), /attention/)
})

t.test('on a terminal the line fits its width (80 columns when it does not say), attention first, and NO_COLOR drops colour', async (t) => {
  const screen = (env: NodeJS.ProcessEnv, columns?: number): string => {
    const tty = new PassThrough() as unknown as NodeJS.WriteStream & { isTTY: boolean; columns?: number }
    tty.isTTY = true
    if (columns) tty.columns = columns
    let out = ''
    ;(tty as unknown as PassThrough).on('data', (d) => (out += d))
    const printer = new StatusPrinter(tty, env)
    printer.print({ ...report, reasons: ['camera slow'], workers: { motion: { state: 'stalled', starts: 1, crashes: 0, restarts: 0, last_crash: null, last_exit: null, crash_looping: false, heap_used_mb: 5, heap_total_mb: 8, stall_ms: 5000, stalled_for_ms: 6000 } } } as unknown as HealthReport)
    return out.replace('\r\x1b[2K', '')
  }
  const visible = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '')
  const plain = screen({})
  t.ok(visible(plain).length <= 79, `fits 80 columns: ${visible(plain).length} characters`)
  t.match(visible(plain), /^YELLOW \| attention: motion stalled/, 'what needs attention comes first')
  t.match(plain, /\x1b\[33m/, 'coloured on a terminal')
  t.notMatch(screen({ NO_COLOR: '1' }), /\x1b\[/, 'no colour with NO_COLOR')
  t.ok(visible(screen({}, 200)).length > 80, 'a wider terminal gets more of the line')
})

t.test('four cameras fit 80 columns: a rate or a state per camera, drops of every camera', async (t) => {
  const camera = (state: string, fps: number, drops = 0) => ({
    ...report.camera,
    state,
    frames_per_s: fps,
    consumers: { movement_detector: { delivered: 10, dropped: { movement_detector_slow: drops }, skipped: {}, lag: 0, state: 'active', published: 10 + drops } },
  })
  const four = {
    ...report,
    thermal: null,
    cameras: { front: camera('streaming', 30), rear: camera('streaming', 29.6, 2), left: camera('backoff', 0, 0), garage_2: camera('streaming', 30, 1) },
    workers: { 'rear.movement_detector': { state: 'restarting', starts: 2, crashes: 1, restarts: 1, last_crash: 'x', last_exit: 'error', crash_looping: false, heap_used_mb: null, heap_total_mb: null } },
  } as HealthReport
  const line = statusLine(four, false)
  t.equal(line, 'YELLOW | front 30 rear 30 left down garage_2 30 fps | drops 3 | tick p99 5.6 ms | attention: rear.movement_detector restarting (error)')
  t.ok(line.indexOf(' | attention') <= 80, `the figures fit 80 columns (${line.indexOf(' | attention')})`)
})
