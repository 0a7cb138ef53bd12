// rtsp:// and rtsps:// (RTSP over TLS): IP cameras. Credentials ride in the
// URL; the camera's own query parameters (channel=, subtype=...) pass through.
import { invalidSource } from '../errors.js'
import { tcpReachable } from '../reachability.js'
import { defineSourceKind, type SourceBase } from './kind.js'

/** The IANA ports: RTSP 554, RTSP over TLS 322. */
const DEFAULT_PORTS: Record<string, number> = { rtsp: 554, rtsps: 322 }

export interface RtspSource extends SourceBase {
  kind: 'rtsp'
  /** rtsps: the session runs over TLS. */
  secure: boolean
  host: string
  port: number
  path: string
  transport: 'tcp' | 'udp'
  hasCredentials: boolean
}

export const rtspKind = defineSourceKind<RtspSource>({
  kind: 'rtsp',
  schemes: ['rtsp', 'rtsps'],
  options: ['transport'],
  // The camera's own query parameters (channel=, subtype=...) go to the camera.
  passUnknownOptions: true,
  example: 'rtsp://user:pass@192.168.1.20:554/stream1?transport=tcp',
  parse(u) {
    const slash = u.hierarchy.indexOf('/')
    const authority = slash < 0 ? u.hierarchy : u.hierarchy.slice(0, slash)
    const path = slash < 0 ? '/' : u.hierarchy.slice(slash)
    // Userinfo runs to the LAST '@': camera passwords often hold a raw '@'.
    const at = authority.lastIndexOf('@')
    const hostPort = at < 0 ? authority : authority.slice(at + 1)
    const example = `${u.scheme}://[user:pass@]host[:port]/path`
    let host: string
    let portText: string | undefined
    if (hostPort.startsWith('[')) {
      const close = hostPort.indexOf(']')
      if (close < 0) throw invalidSource(`unclosed IPv6 bracket in "${u.safe}"`, `Write ${u.scheme}://[::1]:8554/path`)
      host = hostPort.slice(1, close)
      const after = hostPort.slice(close + 1)
      if (after !== '' && !after.startsWith(':')) throw invalidSource(`junk after the IPv6 address in "${u.safe}"`, `Write ${u.scheme}://[::1]:8554/path`)
      portText = after === '' ? undefined : after.slice(1)
    } else {
      const colon = hostPort.lastIndexOf(':')
      host = colon < 0 ? hostPort : hostPort.slice(0, colon)
      portText = colon < 0 ? undefined : hostPort.slice(colon + 1)
    }
    if (host === '') throw invalidSource(`no host in "${u.safe}"`, `Write ${example}`)
    let port = DEFAULT_PORTS[u.scheme]!
    if (portText !== undefined) {
      if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
        throw invalidSource(`port "${portText}" in "${u.safe}" is not a number from 1 to 65535`, `Write ${u.scheme}://host:8554/path`)
      }
      port = Number(portText)
    }
    const transport = u.query.get('transport') ?? 'tcp'
    if (transport !== 'tcp' && transport !== 'udp') {
      throw invalidSource(`transport=${transport} in "${u.safe}"`, 'Use transport=tcp (the default) or transport=udp')
    }
    return { kind: 'rtsp', secure: u.scheme === 'rtsps', url: u.text, redacted: u.safe, host, port, path, transport, hasCredentials: at >= 0 }
  },
  native(s) {
    return { kind: 'rtsp', target: cameraUrl(s.url), redacted: s.redacted, transport: s.transport }
  },
  reachable(s, timeoutMs) {
    return (signal) => tcpReachable(s.host, s.port, timeoutMs, signal)
  },
})

/** The URL as the camera needs it: heart's own `transport` option taken out, the camera's parameters kept as written. */
function cameraUrl(url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const hashAt = url.indexOf('#', q)
  const query = url.slice(q + 1, hashAt < 0 ? undefined : hashAt)
  const kept = query.split('&').filter((pair) => pair !== '' && pair.split('=')[0] !== 'transport')
  return url.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '')
}
