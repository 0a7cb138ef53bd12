// HTTP routes of the telemetry downlink and the live view. The `heart` CLI owns
// the server and mounts these; nothing here listens on a port.

import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { frameMetaJson, type LiveFeed } from './live-feed.js'
import { MJPEG_BOUNDARY, type MjpegHub } from './mjpeg-hub.js'
import type { EncodedFrame, HttpRoute } from './types.js'

export interface StreamRouteDeps {
  hub: MjpegHub
  feed: LiveFeed
  /** How long GET /snapshot.jpg waits for a frame (the idle encoder wakes for it) before answering 503. Default 2000 ms. */
  snapshotWaitMs?: number
  /** Folder with index.html, live.js, live.css. Default: this package's static/. */
  staticDir?: URL
}

/** The live view's files, served from memory under these paths. */
const STATIC_FILES: ReadonlyArray<{ path: string; file: string; type: string }> = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/live/live.js', file: 'live.js', type: 'text/javascript; charset=utf-8' },
  { path: '/live/live.css', file: 'live.css', type: 'text/css; charset=utf-8' },
]

const NO_STORE = 'no-store, no-cache, must-revalidate'

export function defaultStaticDir(): URL {
  // dist/src/routes.js -> <package>/static/
  return new URL('../../static/', import.meta.url)
}

export function streamRoutes(deps: StreamRouteDeps): HttpRoute[] {
  const staticDir = deps.staticDir ?? defaultStaticDir()
  const snapshotWaitMs = deps.snapshotWaitMs ?? 2000
  const routes: HttpRoute[] = STATIC_FILES.map(({ path, file, type }) => {
    // Read once: the page is small and must not cost a disk read per request.
    const body = readFileSync(new URL(file, staticDir))
    return {
      method: 'GET' as const,
      path,
      handle: (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.byteLength, 'Cache-Control': 'no-cache' })
        res.end(body)
      },
    }
  })
  routes.push(
    { method: 'GET', path: '/stream.mjpeg', stream: 'mjpeg', handle: (req, res) => serveMjpeg(deps.hub, req, res) },
    { method: 'GET', path: '/snapshot.jpg', handle: (_req, res) => serveSnapshot(deps.hub, snapshotWaitMs, res) },
    {
      method: 'GET',
      path: '/frames/latest.json',
      handle: (_req, res) => {
        const latest = deps.hub.latest()
        sendJson(res, 200, {
          ...deps.feed.snapshot(),
          // Results computed on exactly the latest JPEG's frame, when they exist.
          forFrame: latest ? deps.feed.resultsFor(latest.meta.seq) : null,
          stream: deps.hub.stats(),
        })
      },
    },
    { method: 'GET', path: '/events', stream: 'sse', handle: (req, res) => serveEvents(deps.feed, req, res) },
  )
  return routes
}

function serveMjpeg(hub: MjpegHub, req: IncomingMessage, res: ServerResponse): void {
  req.socket.setNoDelay(true) // a part should leave as soon as it is written
  res.writeHead(200, {
    'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
    'Cache-Control': NO_STORE,
    Pragma: 'no-cache',
    Connection: 'close',
    'X-Accel-Buffering': 'no',
  })
  res.flushHeaders()
  const viewer = hub.addViewer(res)
  req.once('close', () => viewer.detach())
}

async function serveSnapshot(hub: MjpegHub, waitMs: number, res: ServerResponse): Promise<void> {
  // With nobody watching the encoder is idle: this wakes it for the newest frame.
  const frame: EncodedFrame | null = await hub.freshFrame(waitMs)
  if (!frame) {
    res.setHeader('Retry-After', '1')
    sendJson(res, 503, {
      error: `no frame has been encoded in ${waitMs} ms; is the encoder worker running and the camera up? (see GET /health)`,
    })
    return
  }
  res.writeHead(200, {
    'Content-Type': 'image/jpeg',
    'Content-Length': frame.jpeg.byteLength,
    'Cache-Control': NO_STORE,
    'X-Frame-Seq': frame.meta.seq.toString(),
    'X-Capture-Ts': frame.meta.captureTsNs.toString(),
    'X-Frame-Meta': JSON.stringify(frameMetaJson(frame)),
  })
  res.end(frame.jpeg)
}

function serveEvents(feed: LiveFeed, req: IncomingMessage, res: ServerResponse): void {
  req.socket.setNoDelay(true)
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': NO_STORE,
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  })
  res.flushHeaders()
  const remove = feed.addClient(res)
  req.once('close', remove)
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': NO_STORE,
  })
  res.end(text)
}
