import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * A long-lived response kind. The server caps how many of each are open at
 * once (`http.limits.maxMjpegViewers`, `maxSseClients`) and answers 503 past
 * the cap, so viewers cannot use up the process's connections.
 */
export type HttpStreamKind = 'mjpeg' | 'sse'

/** An HTTP endpoint a package contributes; the CLI mounts it on its server. */
export interface HttpRoute {
  method: 'GET' | 'POST'
  path: string
  /** Set on routes whose response streams until the client leaves. */
  stream?: HttpStreamKind
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>
}
