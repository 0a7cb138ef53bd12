// A minimal stand-in for the `heart` CLI's HTTP server: mounts HttpRoutes by
// method + pathname on 127.0.0.1 and an ephemeral port.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HttpRoute } from '../../src/types.js'

export interface TestServer {
  server: Server
  url: string
  close(): Promise<void>
}

export async function startServer(routes: HttpRoute[]): Promise<TestServer> {
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname
    const route = routes.find((r) => r.method === req.method && r.path === pathname)
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'text/plain' })
      res.end(`no route for ${req.method} ${pathname}\n`)
      return
    }
    Promise.resolve(route.handle(req, res)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500)
      res.end(String(err))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
