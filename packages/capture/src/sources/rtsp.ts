// rtsp:// and rtsps:// (RTSP over TLS): IP cameras. Credentials ride in the
// URL; the camera's own query parameters (channel=, subtype=...) pass through.
import { invalidSource } from '../errors.js'
import { encodeUserinfo, type Userinfo } from '../redact.js'
import { tcpReachable } from '../reachability.js'
import { defineSourceKind, type SourceBase } from './kind.js'

/** The longest reordering wait accepted: beyond a few seconds a stream is better off on TCP. */
const MAX_REORDER_MS = 10_000

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
  /** UDP only: how long libavformat holds packets behind a missing one for it to arrive out of order (FFmpeg's max_delay; 100 ms when unset). */
  reorderMs?: number
  hasCredentials: boolean
  /** The user and password, decoded; only ever handed to the decoder. */
  credentials?: Userinfo
  /** What follows the credentials, as written (host, path, query). */
  location: string
}

export const rtspKind = defineSourceKind<RtspSource>({
  kind: 'rtsp',
  schemes: ['rtsp', 'rtsps'],
  options: ['transport', 'reorderMs'],
  // The camera's own query parameters (channel=, subtype=...) go to the camera.
  passUnknownOptions: true,
  credentials: true,
  example: 'rtsp://user:pass@192.168.1.20:554/stream1?transport=tcp',
  parse(u) {
    const slash = u.hierarchy.indexOf('/')
    const hostPort = slash < 0 ? u.hierarchy : u.hierarchy.slice(0, slash)
    const path = slash < 0 ? '/' : u.hierarchy.slice(slash)
    if (hostPort.includes('@')) {
      throw invalidSource(`"${u.safe}" has credentials heart cannot tell from the host`, `A password holding / ? or # needs a path after the host (${u.scheme}://user:pass@host/path), or write those characters as %2F %3F %23`)
    }
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
    const reorderText = u.query.get('reorderMs') ?? undefined
    let reorderMs: number | undefined
    if (reorderText !== undefined) {
      if (!/^\d{1,5}$/.test(reorderText) || Number(reorderText) > MAX_REORDER_MS) {
        throw invalidSource(`reorderMs=${reorderText} in "${u.safe}"`, `Use a whole number of milliseconds from 0 to ${MAX_REORDER_MS} (0: no reordering wait)`)
      }
      if (transport !== 'udp') throw invalidSource(`reorderMs in "${u.safe}" without transport=udp`, 'reorderMs applies to RTSP over UDP only (TCP delivers in order): add transport=udp or drop reorderMs')
      reorderMs = Number(reorderText)
    }
    const location = u.text.slice(u.text.indexOf('://') + 3 + (u.userinfo ? u.userinfo.raw.length + 1 : 0))
    const out: RtspSource = { kind: 'rtsp', secure: u.scheme === 'rtsps', url: u.text, redacted: u.safe, host, port, path, transport, hasCredentials: u.userinfo !== undefined, location }
    if (u.userinfo) out.credentials = u.userinfo
    if (reorderMs !== undefined) out.reorderMs = reorderMs
    return out
  },
  native(s) {
    // Credentials as FFmpeg reads them: always percent-encoded (it decodes them), so a raw / ? # % or space cannot cut its authority short.
    const userinfo = s.credentials ? `${encodeUserinfo(s.credentials)}@` : ''
    return { kind: 'rtsp', target: cameraUrl(`${s.secure ? 'rtsps' : 'rtsp'}://${userinfo}${s.location}`), redacted: s.redacted, transport: s.transport, ...(s.reorderMs === undefined ? {} : { reorderMs: s.reorderMs }) }
  },
  reachable(s, timeoutMs) {
    return (signal) => tcpReachable(s.host, s.port, timeoutMs, signal)
  },
})

/** heart's own query parameters, which the camera never sees. */
const HEART_OPTIONS = new Set(['transport', 'reorderMs'])

/** The URL as the camera needs it: heart's own options (`transport`, `reorderMs`) taken out, the camera's parameters kept as written. */
function cameraUrl(url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const hashAt = url.indexOf('#', q)
  const query = url.slice(q + 1, hashAt < 0 ? undefined : hashAt)
  const kept = query.split('&').filter((pair) => pair !== '' && !HEART_OPTIONS.has(pair.split('=')[0]!))
  return url.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '')
}
