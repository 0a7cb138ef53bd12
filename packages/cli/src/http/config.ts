// The `http` section of heart's config: where the server listens, who may
// use it (token, allowed Host names), TLS, and the limits that keep a flood
// of connections from taking the process down. docs/security.md explains
// each setting; docs/configuration.md lists the defaults.
import { array, boolean, integer, object, oneOf, optional, string, z, type Infer, type Schema } from '@heart/kernel'

/** Shortest token accepted: anything shorter can be guessed over the network. */
export const MIN_TOKEN_LENGTH = 16

/**
 * The token's own schema: its messages never quote what was written (a token
 * with a typo is still nearly the secret), only its length and what is wrong.
 */
const tokenSchema: Schema<string> = z
  .string({ error: (iss) => `got ${iss.input === null ? 'null' : Array.isArray(iss.input) ? 'a list' : `a ${typeof iss.input}`}, expected a token string (${MIN_TOKEN_LENGTH}+ characters)` })
  .superRefine((value, ctx) => {
    if (value.length < MIN_TOKEN_LENGTH) {
      ctx.addIssue({ code: 'custom', input: '(not shown)', message: `got a token of ${value.length} characters, expected at least ${MIN_TOKEN_LENGTH} (make one with: openssl rand -hex 24)` })
    } else if (!/^[\x21-\x7e]+$/.test(value)) {
      ctx.addIssue({ code: 'custom', input: '(not shown)', message: 'the token holds spaces or characters outside printable ASCII, which an Authorization header cannot carry (make one with: openssl rand -hex 24)' })
    }
  })

/** A Host name (no port): a DNS name, an IPv4 address, or an IPv6 address in brackets or bare. */
const hostName = string({ pattern: /^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\.?)$/, hint: 'a host name without port (cam.example, 192.168.1.5, [fd00::5])' })

export const httpLimitsSchema = object({
  /** Open connections at most, all kinds together (lowered at start to what the file-descriptor limit leaves). */
  maxConnections: integer({ min: 1, max: 100_000, default: 256 }),
  /** Open GET /stream.mjpeg viewers at most; more get 503. */
  maxMjpegViewers: integer({ min: 0, max: 10_000, default: 16 }),
  /** Open GET /events (server-sent events) clients at most; more get 503. */
  maxSseClients: integer({ min: 0, max: 10_000, default: 32 }),
  /** Open GET /cameras/NAME/live.mp4 viewers at most, all cameras together; more get 503. */
  maxMp4Viewers: integer({ min: 0, max: 10_000, default: 16 }),
  /** Connections with no request in progress (kept alive, or opened and silent) at most; the oldest is closed to make room. */
  maxIdleConnections: integer({ min: 1, max: 100_000, default: 64 }),
  /** A request's headers must arrive within this. */
  headersTimeoutMs: integer({ min: 100, max: 600_000, default: 10_000 }),
  /** A whole request (headers and body) must arrive within this; a response may stream longer. */
  requestTimeoutMs: integer({ min: 100, max: 3_600_000, default: 30_000 }),
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: integer({ min: 100, max: 600_000, default: 5000 }),
  /** Largest request body; more gets 413. */
  maxBodyBytes: integer({ min: 0, max: 64 * 1024 * 1024, default: 64 * 1024 }),
}).superRefine((limits, ctx) => {
  // node:http refuses a headers timeout longer than the request timeout.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    ctx.addIssue({ code: 'custom', path: ['headersTimeoutMs'], message: `${limits.headersTimeoutMs} is longer than requestTimeoutMs (${limits.requestTimeoutMs}); the headers are part of the request` })
  }
})

export const httpConfigSchema = object({
  /** 127.0.0.1 unless told; any other address needs a token or `auth: none`. */
  host: string({ default: '127.0.0.1', hint: 'an address to listen on (127.0.0.1, 0.0.0.0, ::, a LAN address)' }),
  port: integer({ min: 0, max: 65535, default: 8080 }),
  /** The bearer token every request must carry (HEART_TOKEN in the environment wins over this). */
  token: optional(tokenSchema),
  /** `none` serves without a token on any address (written on purpose, warned about at start). */
  auth: optional(oneOf(['token', 'none'])),
  /** Host names accepted besides the loopback names, the bound address and the machine's names. */
  allowedHosts: array(hostName, { default: [], maxItems: 64 }),
  /** Serve HTTPS: PEM certificate and key files, paths relative to the config file. */
  tls: optional(object({ cert: string({ hint: 'a path to a PEM certificate' }), key: string({ hint: 'a path to a PEM private key' }) })),
  limits: httpLimitsSchema,
  /** Serve GET /cameras/NAME/live.mp4: the camera's own H.264 / HEVC as fragmented MP4, no re-encode (docs/stream.md). */
  livePassthrough: boolean({ default: true }),
})

export type HttpConfig = Infer<typeof httpConfigSchema>
export type HttpLimits = Infer<typeof httpLimitsSchema>
