import t from 'tap'
import { createServer, type Server } from 'node:net'
import { tcpReachable } from '../src/reachability.js'
import { parseSource, reachabilityProbe } from '../src/sources/registry.js'

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return { server, port: addr.port }
}

t.test('a listening port is reachable; a closed one is not', async (t) => {
  const { server, port } = await listen()
  t.equal(await tcpReachable('127.0.0.1', port, 1000), true)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  t.equal(await tcpReachable('127.0.0.1', port, 1000), false)
})

t.test('an aborted probe answers false at once', async (t) => {
  const ac = new AbortController()
  ac.abort()
  t.equal(await tcpReachable('127.0.0.1', 1, 1000, ac.signal), false)
  // 192.0.2.0/24 is TEST-NET: never routed, so the connect hangs until the abort.
  const ac2 = new AbortController()
  const started = Date.now()
  setTimeout(() => ac2.abort(), 50)
  t.equal(await tcpReachable('192.0.2.1', 554, 5000, ac2.signal), false)
  t.ok(Date.now() - started < 2000)
})

t.test('probes per source kind', async (t) => {
  const { server, port } = await listen()
  t.teardown(() => server.close())
  const rtsp = reachabilityProbe(parseSource(`rtsp://u:p@127.0.0.1:${port}/x`), 1000)
  t.equal(await rtsp!(), true)
  t.equal(await reachabilityProbe(parseSource('v4l2:///dev/null'), 1000)!(), true)
  t.equal(await reachabilityProbe(parseSource('v4l2:///dev/video-missing'), 1000)!(), false)
  t.equal(reachabilityProbe(parseSource('file:///a.mp4'), 1000), undefined)
})
