import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * A long-lived response kind. The server caps how many of each are open at
 * once (`http.limits.maxMjpegViewers`, `maxSseClients`, `maxMp4Viewers`) and answers 503 past
 * the cap, so viewers cannot use up the process's connections.
 */
export type HttpStreamKind = 'mjpeg' | 'sse' | 'mp4'

/** An HTTP endpoint a package contributes; the CLI mounts it on its server. */
export interface HttpRoute {
  method: 'GET' | 'POST'
  path: string
  /** Set on routes whose response streams until the client leaves. */
  stream?: HttpStreamKind
  /** `path` names a folder: the route answers every path below it too (`/cameras/main/recordings/...`). */
  prefix?: boolean
  /** `body`: the request's JSON body, parsed (undefined when it sent none). */
  handle(req: IncomingMessage, res: ServerResponse, body?: unknown): void | Promise<void>
}
