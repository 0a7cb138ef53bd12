// The cheap probe between full reconnect attempts for network cameras: can
// we open a TCP connection to the camera's port? (Each source kind picks its
// probe in its module: ./sources/.) It costs one SYN/ACK and no RTSP
// session, so it can run every second while a full open (DESCRIBE, SETUP,
// PLAY, wait for a keyframe) backs off to 30 s.
import { connect } from 'node:net'

export function tcpReachable(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false)
    const socket = connect({ host, port })
    let done = false
    const finish = (ok: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve(ok)
    }
    const onAbort = (): void => finish(false)
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.once('connect', () => finish(true))
    socket.once('error', () => finish(false))
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
