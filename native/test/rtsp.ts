// Starts the GStreamer RTSP test server for the native tests and stops it by
// PID on teardown. The server script itself is the one @heart/capture's tests
// use (packages/capture/test/support/rtsp_server.py): one copy, so a fix to
// it (H.265, auth roles, dying with its parent) serves both suites.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

// From native/dist/test/ to the repository root.
const script = fileURLToPath(new URL('../../../packages/capture/test/support/rtsp_server.py', import.meta.url))

export interface RtspServer {
  url: string
  port: number
  child: ChildProcess
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** Serves `clip` (H.264 or H.265 MP4) at rtsp://127.0.0.1:PORT/test, optionally behind basic auth. */
export async function startRtspServer(
  t: { teardown(fn: () => void): void },
  clip: string,
  auth?: { user: string; password: string },
): Promise<RtspServer> {
  const port = await freePort()
  const args = [script, '--port', String(port), '--mount', `/test=${clip}`]
  if (auth) args.push('--auth', `${auth.user}:${auth.password}`)
  // Debian's interpreter has the gi bindings; the python3 first on PATH may not.
  const child = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      process.kill(child.pid, 'SIGCONT') // a paused server cannot die otherwise
      process.kill(child.pid, 'SIGKILL')
    }
  })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`RTSP server did not start: ${err}`)), 15000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (/^READY \d+$/m.test(out)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`RTSP server exited with ${code}: ${err}`))
    })
  })
  return { url: `rtsp://127.0.0.1:${port}/test`, port, child }
}
