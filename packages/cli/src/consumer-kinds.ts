import { usage } from './errors.js'

/** Consumer kinds `heart run` knows, each a worker entry that calls serveConsumer(). */
export const CONSUMER_KINDS: Record<string, { entry: URL; description: string }> = {
  verify: {
    entry: new URL('./consumers/verify-worker.js', import.meta.url),
    description: 'reads every pixel; on synthetic:// proves each frame is intact',
  },
}

export function consumerEntry(kind: string, name: string): URL {
  const known = CONSUMER_KINDS[kind]
  if (!known) {
    throw usage(`consumers: "${name}" has kind "${kind}", allowed: ${Object.keys(CONSUMER_KINDS).join(' | ')}`)
  }
  return known.entry
}
