// Starts and stops the GStreamer RTSP test server (rtsp_server.py) from the
// tests: a free loopback port, ready detection from its "READY" line, and
// teardown by PID even when a test fails. Only the process started here is
// ever signalled.
import { spawn, type ChildProcess } from 'node:child_process'
import { freeLoopbackPort as freePort } from '@heart/telemetry/testing'
import { fileURLToPath } from 'node:url'

// From dist/test/support/ back to the source tree, where the script lives.
const SCRIPT = fileURLToPath(new URL('../../../test/support/rtsp_server.py', import.meta.url))
// Debian's interpreter has the gi bindings; the python3 first on PATH may not.
const PYTHON = '/usr/bin/python3'

export interface RtspServer {
  readonly port: number
  readonly pid: number
  /** rtsp://127.0.0.1:PORT/PATH (rtsps:// with TLS), with optional credentials spliced in. */
  url(path: string, credentials?: string): string
  /** Freeze the server (SIGSTOP): sockets stay open, nothing is answered. */
  pause(): void
  resume(): void
  /** Stop it (SIGTERM, then SIGKILL after 2 s) and wait for the exit. */
  stop(): Promise<void>
}

export interface StartOptions {
  /** mount path ("/h264") -> MP4 file. */
  mounts: Record<string, string>
  /** Require RTSP basic authentication with these credentials ("user:pass"), or any of several. */
  auth?: string | string[]
  /** Serve rtsps:// (RTSP over TLS) with the certificate and key in this PEM file. */
  tls?: string
  /** Reuse this port (to restart a server where a client expects it). */
  port?: number
  readyTimeoutMs?: number
}

/** A free loopback port (the one helper every test server uses). */
export { freePort }

export async function startRtspServer(opts: StartOptions): Promise<RtspServer> {
  const attempts = opts.port === undefined ? 3 : 1
  let lastError: unknown
  for (let i = 0; i < attempts; i++) {
    const port = opts.port ?? (await freePort())
    try {
      return await launch(port, opts)
    } catch (err) {
      lastError = err // most likely the free port was taken in between; try another
    }
  }
  throw lastError
}

async function launch(port: number, opts: StartOptions): Promise<RtspServer> {
  const args = [SCRIPT, '--port', String(port)]
  for (const [path, file] of Object.entries(opts.mounts)) args.push('--mount', `${path}=${file}`)
  for (const credentials of [opts.auth ?? []].flat()) args.push('--auth', credentials)
  if (opts.tls) args.push('--tls', opts.tls)
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Last resort if the test process exits without running its teardowns (the server also dies with its parent).
  const onParentExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.once('exit', onParentExit)
  void exited.then(() => process.off('exit', onParentExit))
  try {
    await waitReady(child, opts.readyTimeoutMs ?? 10_000, () => stderr)
  } catch (err) {
    await kill(child, exited)
    throw err
  }
  const pid = child.pid!
  return {
    port,
    pid,
    url: (path, credentials) => `${opts.tls ? 'rtsps' : 'rtsp'}://${credentials ? `${credentials}@` : ''}127.0.0.1:${port}${path}`,
    pause: () => {
      if (child.exitCode === null) process.kill(pid, 'SIGSTOP')
    },
    resume: () => {
      if (child.exitCode === null) process.kill(pid, 'SIGCONT')
    },
    stop: () => kill(child, exited),
  }
}

function waitReady(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs)
    const onData = (d: string): void => {
      out += d
      if (/^READY \d+$/m.test(out)) {
        cleanup()
        resolve()
      }
    }
    const onExit = (code: number | null, signal: string | null): void => fail(`exited early (code ${code}, signal ${signal})`)
    const onError = (err: Error): void => fail(`could not start ${PYTHON}: ${err.message}`)
    function cleanup(): void {
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      child.off('exit', onExit)
      child.off('error', onError)
    }
    function fail(why: string): void {
      cleanup()
      reject(new Error(`RTSP test server ${why}; stderr:\n${stderr()}`))
    }
    child.stdout!.setEncoding('utf8').on('data', onData)
    child.once('exit', onExit)
    child.once('error', onError)
  })
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  // A stopped process cannot act on SIGTERM until it is continued.
  try {
    process.kill(child.pid!, 'SIGCONT')
  } catch {
    // already gone
  }
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
  await exited
  clearTimeout(timer)
}
