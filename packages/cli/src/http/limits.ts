// Connection limits: how many sockets heart keeps open, of which kind, and
// how refusals are reported. A flood of connections must cost the flooder,
// never the camera: past the caps connections are refused (503) or closed,
// and the log says so once per burst, not once per connection.
import { readdirSync, readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from '@heart/kernel'

/** Descriptors kept free for everything but HTTP (workers, files, the summary, /proc reads). */
const FD_RESERVE = 64

/** A burst ends after this long without a refusal; the next refusal starts a new one (and logs again). */
const BURST_QUIET_MS = 10_000

/**
 * One warning when refusals start, one line with the count when they stop:
 * a flood of 10 000 connections writes two lines, not 10 000.
 */
export class BurstLog {
  private count = 0
  private timer: NodeJS.Timeout | undefined
  private readonly logger: Logger
  private readonly what: string

  constructor(logger: Logger, what: string) {
    this.logger = logger
    this.what = what
  }

  note(fields: Record<string, unknown>): void {
    if (this.count === 0) this.logger.warn(`${this.what}; further refusals are counted, not logged, until ${BURST_QUIET_MS / 1000} s pass without one`, fields)
    this.count++
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.end(), BURST_QUIET_MS).unref()
  }

  /** Ends the burst now (logging its count), e.g. at stop. */
  end(): void {
    clearTimeout(this.timer)
    if (this.count > 0) this.logger.info(`${this.what}: burst over`, { refused: this.count })
    this.count = 0
  }
}

/**
 * The soft file-descriptor limit and the descriptors open now, from /proc
 * (Linux); null elsewhere or when /proc cannot be read.
 */
export function descriptorHeadroom(): { limit: number; open: number } | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (!m || m[1] === 'unlimited') return null
    return { limit: Number(m[1]), open: readdirSync('/proc/self/fd').length }
  } catch {
    return null
  }
}

/**
 * Watches for the process running out of descriptors (a leak, or sockets
 * opened faster than they close): node then cannot accept connections and
 * says nothing, so the log would stay silent. Reading /proc/self/fd needs a
 * descriptor itself, so it fails exactly when none is left.
 */
export function watchDescriptors(onExhausted: (fields: Record<string, unknown>) => void, everyMs = 1000): () => void {
  const headroom = descriptorHeadroom()
  if (!headroom) return () => undefined
  const timer = setInterval(() => {
    try {
      const open = readdirSync('/proc/self/fd').length
      if (open >= headroom.limit - 4) onExhausted({ open, limit: headroom.limit })
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EMFILE' || code === 'ENFILE') onExhausted({ error: code, limit: headroom.limit })
    }
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * The total connection cap: the configured one, lowered so that sockets can
 * never use up the descriptors the rest of heart needs (running out of them
 * makes every open() and accept() fail).
 */
export function connectionCap(configured: number, headroom = descriptorHeadroom()): { cap: number; lowered: boolean } {
  if (!headroom) return { cap: configured, lowered: false }
  const room = Math.max(1, headroom.limit - headroom.open - FD_RESERVE)
  return room < configured ? { cap: room, lowered: true } : { cap: configured, lowered: false }
}

/**
 * Keeps at most `max` connections idle (no request in progress: kept alive
 * between requests, or opened and silent); a new one beyond that closes the
 * oldest idle one. Busy connections (a request being answered, an MJPEG or
 * SSE stream) are never closed for this.
 */
export class IdleConnections {
  private readonly idle = new Set<Socket>()
  private readonly max: number
  private readonly onEvict: () => void

  constructor(max: number, onEvict: () => void) {
    this.max = max
    this.onEvict = onEvict
  }

  /** Watches a server's connections (`connectionEvent`: 'secureConnection' for TLS, whose requests arrive on the TLS socket). */
  watch(server: Server, connectionEvent: 'connection' | 'secureConnection'): void {
    server.on(connectionEvent, (socket: Socket) => {
      socket.once('close', () => this.idle.delete(socket))
      this.markIdle(socket)
    })
    server.on('request', (req, res) => {
      const socket = req.socket
      this.idle.delete(socket)
      res.once('close', () => {
        if (!socket.destroyed) this.markIdle(socket)
      })
    })
  }

  get size(): number {
    return this.idle.size
  }

  private markIdle(socket: Socket): void {
    this.idle.delete(socket)
    this.idle.add(socket)
    if (this.idle.size <= this.max) return
    // A Set iterates in insertion order: the first is the one idle longest.
    const oldest = this.idle.values().next().value as Socket
    this.idle.delete(oldest)
    oldest.destroy()
    this.onEvict()
  }
}

/** Caps on long-lived responses, by the kind a route declares. */
export class StreamCaps {
  private readonly open = new Map<string, number>()
  private readonly caps: Record<string, number>

  constructor(caps: Record<string, number>) {
    this.caps = caps
  }

  /** Takes a place for a response of this kind (freed when it closes), or returns the cap when none is left. */
  take(kind: string, res: { once(event: 'close', fn: () => void): unknown }): number | null {
    const cap = this.caps[kind]
    if (cap === undefined) return null
    const open = this.open.get(kind) ?? 0
    if (open >= cap) return cap
    this.open.set(kind, open + 1)
    res.once('close', () => this.open.set(kind, (this.open.get(kind) ?? 1) - 1))
    return null
  }
}
