// heart under systemd (`Type=notify`, deploy/systemd/heart.service): it says
// READY=1 once the camera is opening and HTTP listens, pings the watchdog
// from the main tick loop at half of WATCHDOG_USEC (so a wedged main thread
// stops the pings and systemd restarts it), keeps STATUS= the status line,
// says RELOADING=1 then READY=1 around a SIGHUP reload, and STOPPING=1 when it stops. The messages go to the NOTIFY_SOCKET
// datagram socket, which Node cannot write to: the crate's sdNotify sends
// them. Outside systemd (no NOTIFY_SOCKET) none of this exists.
import { loadNativeIfBuilt, type Logger } from '@heart/kernel'

export interface ServiceManager {
  /** How often the watchdog wants a ping (half its timeout), or null when systemd runs none. */
  readonly watchdogEveryMs: number | null
  ready(status: string): void
  watchdog(): void
  status(text: string): void
  /** A SIGHUP reload began (`systemctl reload` shows it until ready() again). */
  reloading(): void
  stopping(): void
}

/** The watchdog ping period systemd asks for through the environment, or null. */
export function watchdogPeriodMs(env: NodeJS.ProcessEnv, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC)
  if (!Number.isFinite(usec) || usec <= 0) return null
  // WATCHDOG_PID names the process the watchdog is meant for (a child started by heart must not take it over).
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return null
  return usec / 2 / 1000
}

/**
 * The notifier when systemd started heart with a notify socket; null
 * otherwise. `env` decides whether to notify at all; the crate sends to the
 * process's own NOTIFY_SOCKET (what systemd set).
 */
export async function systemdNotifier(env: NodeJS.ProcessEnv, log: Logger): Promise<ServiceManager | null> {
  if (!env.NOTIFY_SOCKET) return null
  const native = await loadNativeIfBuilt(['sdNotify'])
  if (!native) {
    log.warn('NOTIFY_SOCKET is set but the native addon is not built: systemd will not hear READY=1 or the watchdog (build it: pnpm run build)')
    return null
  }
  let failed = false
  const send = (message: string): void => {
    try {
      native.sdNotify(message)
    } catch (error) {
      // Said once: a broken socket would otherwise log at every watchdog ping.
      if (!failed) log.warn('could not notify systemd; the watchdog may restart heart', { error: error instanceof Error ? error.message : String(error) })
      failed = true
    }
  }
  // One line, printable characters only: STATUS= ends at a newline.
  const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').slice(0, 400)
  return {
    watchdogEveryMs: watchdogPeriodMs(env),
    ready: (status) => send(`READY=1\nSTATUS=${oneLine(status)}\nMAINPID=${process.pid}`),
    watchdog: () => send('WATCHDOG=1'),
    status: (text) => send(`STATUS=${oneLine(text)}`),
    // MONOTONIC_USEC: the reload's start on CLOCK_MONOTONIC (Node's hrtime on Linux), as systemd 253+ asks.
    reloading: () => send(`RELOADING=1\nSTATUS=reloading the config\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`),
    stopping: () => send('STOPPING=1\nSTATUS=stopping'),
  }
}
