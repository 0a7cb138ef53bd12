// Which names a request may address heart by (Host), and whether a
// state-changing request comes from heart's own pages (Origin). A page on
// evil.example that rebinds its name to 127.0.0.1 still sends
// `Host: evil.example`, so checking Host defeats DNS rebinding; a hostile
// page's form POST carries its own Origin, so checking Origin defeats CSRF.
import { hostname, networkInterfaces } from 'node:os'
import type { IncomingMessage } from 'node:http'

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1']

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const name = normalHost(host)
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
}

/** A host name as compared: lower case, no IPv6 brackets, no trailing dot. */
export function normalHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '')
}

const WILDCARDS = new Set(['0.0.0.0', '::', ''])

/**
 * The names a request may carry in Host: the loopback names, the bound
 * address (every interface's address when bound to a wildcard), the
 * machine's host name, and the configured extra names.
 */
export function allowedHostNames(boundHost: string, extra: readonly string[]): Set<string> {
  const names = new Set([...LOOPBACK_NAMES, hostname(), ...extra].map(normalHost))
  if (WILDCARDS.has(boundHost)) {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(normalHost(a.address))
  } else {
    names.add(normalHost(boundHost))
  }
  return names
}

/** The name part of a Host header ("cam.example:8080" -> "cam.example"), or null when it is not a host. */
export function hostHeaderName(value: string | undefined): string | null {
  if (!value) return null
  try {
    const url = new URL(`http://${value}`)
    // A Host header is exactly host[:port]: anything the URL parser moved elsewhere is not one.
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return null
    return normalHost(url.hostname)
  } catch {
    return null
  }
}

/**
 * Why a state-changing request is not from heart's own origin, or null when
 * it is. A browser always sends Origin on a cross-origin POST; a request with
 * neither Origin nor Referer is not from a web page (curl, scripts) and is
 * judged by the token alone.
 */
export function foreignOrigin(req: IncomingMessage): string | null {
  const origin = req.headers.origin
  const referer = req.headers.referer
  const claimed = origin ?? referer
  if (claimed === undefined) return null
  const what = origin !== undefined ? 'Origin' : 'Referer'
  let host: string
  try {
    host = new URL(claimed).host
  } catch {
    return `its ${what} "${claimed.slice(0, 100)}" is not an origin`
  }
  // Compared with the Host the request addressed (already checked): the same scheme-less origin, port included.
  if (host.toLowerCase() !== (req.headers.host ?? '').toLowerCase()) return `it comes from ${what} ${JSON.stringify(claimed.slice(0, 100))}, not from this server`
  return null
}
