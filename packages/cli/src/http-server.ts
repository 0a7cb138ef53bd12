import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { parseConfig, type HttpRoute, type Logger } from '@heart/kernel'
import { FailedLogins, TokenAuth } from './http/auth.js'
import { httpLimitsSchema, type HttpLimits } from './http/config.js'
import { allowedHostNames, foreignOrigin, hostHeaderName } from './http/host-check.js'
import { BurstLog, IdleConnections, StreamCaps, connectionCap, watchDescriptors } from './http/limits.js'
import type { HttpSecurity } from './http/security.js'

export interface HttpServerOptions {
  /** Token and TLS (resolveHttpSecurity); default: no token, plain HTTP. */
  security?: HttpSecurity
  /** Connection, time and size limits; default: the documented defaults of http.limits. */
  limits?: HttpLimits
  /** Host names accepted besides the loopback names, the bound address and the machine's names. */
  allowedHosts?: readonly string[]
}

/** Content types a state-changing request may carry: none of them is what a plain HTML form can send. */
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/**
 * heart's HTTP server: a node:http (or node:https) server with an
 * exact-match route table that packages contribute to. Bound to 127.0.0.1
 * unless configured otherwise. Before a route runs, the request must name an
 * allowed Host (421), carry the token when one is set (401), and, when it
 * changes state (POST), come from this server's own origin with a JSON or
 * empty body (403, 415, 413). A route that throws answers 500 with the
 * reason; the server keeps serving.
 */
export class HttpServer {
  private readonly server: Server
  private readonly routes = new Map<string, HttpRoute>()
  private readonly logger: Logger
  private readonly auth: TokenAuth | null
  private readonly failedLogins = new FailedLogins()
  private readonly limits: HttpLimits
  private readonly extraHosts: readonly string[]
  private readonly streams: StreamCaps
  private allowedHosts = new Set<string>()
  private readonly bursts: Record<'dropped' | 'idle' | 'stream' | 'accept', BurstLog>
  private stopWatching: () => void = () => undefined

  constructor(logger: Logger, options: HttpServerOptions = {}) {
    this.logger = logger
    this.limits = options.limits ?? parseConfig(httpLimitsSchema, {})
    this.extraHosts = options.allowedHosts ?? []
    const security = options.security
    this.auth = security?.token ? new TokenAuth(security.token, security.tls !== null) : null
    const serverOptions: ServerOptions = {
      headersTimeout: this.limits.headersTimeoutMs,
      requestTimeout: this.limits.requestTimeoutMs,
      keepAliveTimeout: this.limits.keepAliveTimeoutMs,
      // node checks those timeouts every 30 s by default: too slow to shed a flood of silent sockets.
      connectionsCheckingInterval: Math.min(1000, this.limits.headersTimeoutMs),
    }
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res)
    this.server = security?.tls
      ? (createTlsServer({ ...serverOptions, ...security.tls, handshakeTimeout: this.limits.headersTimeoutMs }, handler) as unknown as Server)
      : createServer(serverOptions, handler)
    this.bursts = {
      dropped: new BurstLog(logger, 'HTTP connections refused: the connection limit is reached'),
      idle: new BurstLog(logger, 'idle HTTP connections closed: too many connections send no request'),
      stream: new BurstLog(logger, 'HTTP streams refused: the viewer limit is reached'),
      accept: new BurstLog(logger, 'HTTP cannot accept connections: the process is out of file descriptors (or accept failed); the camera and consumers go on'),
    }
    const cap = connectionCap(this.limits.maxConnections)
    if (cap.lowered) logger.info('HTTP connection limit lowered to fit the file-descriptor limit', { configured: this.limits.maxConnections, limit: cap.cap })
    this.server.maxConnections = cap.cap
    // node closes a connection over maxConnections at once and says so here.
    this.server.on('drop', () => this.bursts.dropped.note({ limit: cap.cap }))
    const idle = new IdleConnections(this.limits.maxIdleConnections, () => this.bursts.idle.note({ limit: this.limits.maxIdleConnections }))
    idle.watch(this.server, security?.tls ? 'secureConnection' : 'connection')
    this.streams = new StreamCaps({ mjpeg: this.limits.maxMjpegViewers, sse: this.limits.maxSseClients, mp4: this.limits.maxMp4Viewers })
  }

  add(routes: readonly HttpRoute[]): void {
    // A prefix route is keyed apart, so a folder's listing and the files below it can share a path.
    for (const route of routes) this.routes.set(`${route.method} ${route.path}${route.prefix ? '/*' : ''}`, route)
  }

  /** Serves exactly these routes from now on (a reload added or removed cameras); requests under way finish on the old ones. */
  replaceRoutes(routes: readonly HttpRoute[]): void {
    this.routes.clear()
    this.add(routes)
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    this.allowedHosts = allowedHostNames(host, this.extraHosts)
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const hint = error.code === 'EADDRINUSE' ? `; another program uses ${host}:${port}: stop it or pass --http ${host}:<other port>` : ''
        reject(Object.assign(new Error(`cannot listen on ${host}:${port}: ${error.message}${hint}`), { code: error.code }))
      }
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.off('error', onError)
        // Listening: out of descriptors (EMFILE) and other accept errors refuse, log once, and keep serving what is open.
        this.server.on('error', (error: NodeJS.ErrnoException) => this.bursts.accept.note({ error: error.code ?? error.message }))
        this.stopWatching = watchDescriptors((fields) => this.bursts.accept.note(fields))
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  close(): Promise<void> {
    this.stopWatching()
    for (const burst of Object.values(this.bursts)) burst.end()
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!
    const host = hostHeaderName(req.headers.host)
    if (host === null || !this.allowedHosts.has(host)) {
      const shown = (req.headers.host ?? '(none)').slice(0, 100)
      sendError(res, 421, `Host ${JSON.stringify(shown)} is not a name of this server; add it to http.allowedHosts if you reach heart by it (see docs/security.md)`)
      return
    }
    if (this.auth) {
      const address = req.socket.remoteAddress ?? 'unknown'
      const lockedS = this.failedLogins.lockedForS(address)
      if (lockedS > 0) {
        res.writeHead(429, { 'retry-after': String(lockedS), 'content-type': 'application/json', 'cache-control': 'no-store' })
        res.end(JSON.stringify({ error: `too many wrong tokens from ${address}; try again in ${lockedS} s` }))
        return
      }
      if (!this.auth.allows(req) || this.auth.loginToken(req, path) !== null) {
        if (this.auth.triesWrongSecret(req, path) && this.failedLogins.failed(address)) {
          this.logger.warn('HTTP: too many wrong tokens from one address; it is refused (429) for a minute', { address })
        }
        this.auth.refuse(req, res, path)
        return
      }
    }
    const route = this.routes.get(`${req.method} ${path}`) ?? this.prefixRoute(req.method, path)
    if (!route) {
      const other = [...this.routes.values()].filter((r) => r.path === path).map((r) => r.method)
      if (other.length > 0) {
        res.writeHead(405, { allow: other.join(', '), 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: `${req.method} is not allowed on ${path}; use ${other.join(' or ')}` }))
        return
      }
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: `no such endpoint: ${path}`, endpoints: [...this.routes.keys()].sort() }))
      return
    }
    if (req.method !== 'GET') {
      const foreign = foreignOrigin(req)
      if (foreign !== null) {
        sendError(res, 403, `${req.method} ${path} refused: ${foreign} (state-changing requests must come from heart's own pages)`)
        return
      }
      const type = req.headers['content-type']
      if (type !== undefined ? !JSON_TYPE.test(type) : hasBody(req)) {
        sendError(res, 415, `${req.method} ${path} takes a JSON body (Content-Type: application/json) or none, not ${type ?? 'a body without Content-Type'}`)
        return
      }
    }
    const body = await this.readBody(req, res)
    if (body === false) return
    if (route.stream) {
      const full = this.streams.take(route.stream, res)
      if (full !== null) {
        this.bursts.stream.note({ kind: route.stream, limit: full })
        res.setHeader('retry-after', '5')
        sendError(res, 503, `${full} ${route.stream} streams are open, the most http.limits allows; close one or raise the limit`)
        return
      }
    }
    try {
      await route.handle(req, res, body)
    } catch (error) {
      this.logger.error('HTTP handler failed', { path, error })
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }))
    }
  }

  /** The longest prefix route that holds the path (exact routes are looked up first). */
  private prefixRoute(method: string | undefined, path: string): HttpRoute | undefined {
    let best: HttpRoute | undefined
    for (const route of this.routes.values()) {
      if (route.prefix && route.method === method && path.startsWith(route.path + '/') && (!best || route.path.length > best.path.length)) best = route
    }
    return best
  }

  /**
   * Reads the request body, at most maxBodyBytes (a larger one is answered
   * 413 and the connection closed, so the rest is never read), and parses
   * it as JSON (the only body type state-changing routes accept). undefined
   * when there is none; false when it answered.
   */
  private async readBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    if (!hasBody(req)) return undefined
    const max = this.limits.maxBodyBytes
    const tooLarge = (): false => {
      res.setHeader('connection', 'close')
      sendError(res, 413, `the request body is larger than ${max} bytes (http.limits.maxBodyBytes)`)
      return false
    }
    if (Number(req.headers['content-length'] ?? 0) > max) return tooLarge()
    const chunks: Buffer[] = []
    let bytes = 0
    for await (const chunk of req) {
      bytes += (chunk as Buffer).byteLength
      if (bytes > max) return tooLarge()
      chunks.push(chunk as Buffer)
    }
    const text = Buffer.concat(chunks).toString('utf8')
    // GET bodies (which no route reads) are only drained; others were checked to be JSON above.
    if (req.method === 'GET' || text.trim() === '') return undefined
    try {
      return JSON.parse(text) as unknown
    } catch {
      sendError(res, 400, `${req.method} ${req.url?.split('?')[0]}: the body is not JSON`)
      return false
    }
  }
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0
}

function sendError(res: ServerResponse, status: number, error: string): void {
  const text = JSON.stringify({ error })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

export function jsonRoute(path: string, body: () => unknown): HttpRoute {
  return {
    method: 'GET',
    path,
    handle(_req, res) {
      const text = JSON.stringify(body(), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(text)
    },
  }
}
