// A raw HTTP client for the server tests: unlike fetch it lets a test send
// any Host, Origin or body, as a hostile page or a misconfigured proxy would.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect, type Socket } from 'node:net'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface Ask {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** https with this CA (a self-signed certificate). */
  ca?: Buffer
}

export function ask(port: number, a: Ask = {}): Promise<Answer> {
  const request = a.ca ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: a.method ?? 'GET', path: a.path ?? '/', headers: a.headers, agent: false, ...(a.ca ? { ca: a.ca, servername: 'localhost' } : {}) }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(a.body)
  })
}

/** Opens `count` TCP connections that send nothing. */
export async function idleSockets(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = []
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => undefined) // the server may close it: that is what some tests look for
    socket.resume() // read what the server sends (a 408), so its closing is seen
    sockets.push(socket)
  }
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.connecting ? s.once('connect', () => resolve()).once('close', () => resolve()) : resolve()))))
  return sockets
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
