import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HttpRoute, Logger } from '@heart/kernel'

/**
 * heart's HTTP server: a plain node:http server with an exact-match route
 * table that packages contribute to. Bound to 127.0.0.1 unless configured
 * otherwise. A route that throws answers 500 with the reason; the server
 * keeps serving.
 */
export class HttpServer {
  private readonly server: Server
  private readonly routes = new Map<string, HttpRoute>()
  private readonly logger: Logger

  constructor(logger: Logger) {
    this.logger = logger
    this.server = createServer((req, res) => void this.handle(req, res))
    // Long-lived MJPEG viewers must not keep shutdown waiting.
    this.server.keepAliveTimeout = 5000
  }

  add(routes: readonly HttpRoute[]): void {
    for (const route of routes) this.routes.set(`${route.method} ${route.path}`, route)
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const hint = error.code === 'EADDRINUSE' ? `; another program uses ${host}:${port}: stop it or pass --http ${host}:<other port>` : ''
        reject(Object.assign(new Error(`cannot listen on ${host}:${port}: ${error.message}${hint}`), { code: error.code }))
      }
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.off('error', onError)
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!
    const route = this.routes.get(`${req.method} ${path}`)
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
    try {
      await route.handle(req, res)
    } catch (error) {
      this.logger.error('HTTP handler failed', { path, error })
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }))
    }
  }
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
