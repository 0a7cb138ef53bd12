import type { IncomingMessage, ServerResponse } from 'node:http'

/** An HTTP endpoint a package contributes; the CLI mounts it on its server. */
export interface HttpRoute {
  method: 'GET' | 'POST'
  path: string
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>
}
