// Starts the GStreamer RTSP server fixture and stops it by PID on teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('../../test/fixtures/rtsp-server.py', import.meta.url))

export interface RtspServer {
  url: string
  port: number
  child: ChildProcess
}

export async function startRtspServer(
  t: { teardown(fn: () => void): void },
  clip: string,
  auth?: { user: string; password: string },
): Promise<RtspServer> {
  const args = [script, clip, ...(auth ? [auth.user, auth.password] : [])]
  const child = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    if (child.exitCode === null && child.pid) {
      process.kill(child.pid, 'SIGCONT')
      process.kill(child.pid, 'SIGKILL')
    }
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`RTSP server did not start: ${err}`)), 15000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /port (\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
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
