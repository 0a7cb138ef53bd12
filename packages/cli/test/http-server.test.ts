import t from 'tap'
import { silentLogger } from '@heart/kernel'
import { HttpServer, jsonRoute } from '../src/http-server.js'

t.test('routes, 404 with the endpoint list, 405 with Allow, 500 with the reason', async (t) => {
  const server = new HttpServer(silentLogger)
  server.add([
    jsonRoute('/health', () => ({ status: 'green', seq: 5n })),
    { method: 'POST', path: '/boom', handle: () => { throw new Error('handler broke') } },
  ])
  const { port } = await server.listen('127.0.0.1', 0)
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${port}`
  const ok = await fetch(`${base}/health?x=1`)
  t.equal(ok.status, 200)
  t.equal(ok.headers.get('content-type'), 'application/json')
  t.same(await ok.json(), { status: 'green', seq: 5 })
  const missing = await fetch(`${base}/nope`)
  t.equal(missing.status, 404)
  t.same(((await missing.json()) as { endpoints: string[] }).endpoints, ['GET /health', 'POST /boom'])
  const wrong = await fetch(`${base}/health`, { method: 'POST' })
  t.equal(wrong.status, 405)
  t.equal(wrong.headers.get('allow'), 'GET')
  const broken = await fetch(`${base}/boom`, { method: 'POST' })
  t.equal(broken.status, 500)
  t.same(await broken.json(), { error: 'handler broke' })
})

t.test('a port in use is a clear error', async (t) => {
  const a = new HttpServer(silentLogger)
  const { port } = await a.listen('127.0.0.1', 0)
  t.teardown(() => a.close())
  const b = new HttpServer(silentLogger)
  await t.rejects(b.listen('127.0.0.1', port), { code: 'EADDRINUSE', message: new RegExp(`another program uses 127.0.0.1:${port}`) })
})
