// The cheap probe between full reconnect attempts: can we open a TCP
// connection to the camera's RTSP port? It costs one SYN/ACK and no RTSP
// session, so it can run every second while a full open (DESCRIBE, SETUP,
// PLAY, wait for a keyframe) backs off to 30 s.
import { connect } from 'node:net'
import { access } from 'node:fs/promises'
import type { SourceSpec } from './types.js'

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

/**
 * The probe for a source, or undefined when there is nothing cheaper than a
 * full open (files, built-in sources).
 */
export function reachabilityProbe(spec: SourceSpec, timeoutMs: number): ((signal?: AbortSignal) => Promise<boolean>) | undefined {
  switch (spec.kind) {
    case 'rtsp':
      return (signal) => tcpReachable(spec.host, spec.port, timeoutMs, signal)
    case 'v4l2':
      // A USB camera that was unplugged comes back as its device node.
      return () => access(spec.device).then(() => true, () => false)
    default:
      return undefined
  }
}
