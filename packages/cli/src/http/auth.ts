// Bearer-token authentication. Every request carries `Authorization: Bearer
// TOKEN`, or, for the live view in a browser, the session cookie it got by
// logging in once. The cookie holds an HMAC of the token, never the token, so
// a cookie copied out of a browser does not reveal it; changing the token
// ends every session. Comparisons run in constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

export const SESSION_COOKIE = 'heart_session'

/** Equal in constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

function sessionValue(token: string): string {
  return createHmac('sha256', token).update('heart live view session').digest('base64url')
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

export class TokenAuth {
  private readonly token: string
  private readonly session: string
  private readonly secure: boolean

  /** `secure`: the server speaks TLS, so the cookie is marked Secure. */
  constructor(token: string, secure: boolean) {
    this.token = token
    this.session = sessionValue(token)
    this.secure = secure
  }

  /** The request carries the token (header) or a session cookie. */
  allows(req: IncomingMessage): boolean {
    const header = req.headers.authorization
    if (header !== undefined) {
      const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
      return m !== null && sameSecret(m[1]!, this.token)
    }
    const cookie = cookieOf(req, SESSION_COOKIE)
    return cookie !== undefined && sameSecret(cookie, this.session)
  }

  /**
   * The request tries a secret (a header, a session cookie or a login token)
   * and it is wrong: what a guesser does. A request with none (a browser's
   * first visit) is not a failed attempt.
   */
  triesWrongSecret(req: IncomingMessage, path: string): boolean {
    const login = this.loginToken(req, path)
    if (login !== null) return !sameSecret(login, this.token)
    const tried = req.headers.authorization !== undefined || cookieOf(req, SESSION_COOKIE) !== undefined
    return tried && !this.allows(req)
  }

  /**
   * Answers a request that is not allowed: GET / with `?token=` logs the
   * browser in (cookie, then a redirect that drops the token from the
   * address bar); GET / from a browser gets the login form; anything else a
   * JSON 401. Always with `WWW-Authenticate: Bearer`.
   */
  /** The token of a login (`GET /?token=`), which is always answered by refuse(), so the token never stays in the address bar. */
  loginToken(req: IncomingMessage, path: string): string | null {
    if (req.method !== 'GET' || path !== '/') return null
    return new URL(req.url ?? '/', 'http://heart.invalid').searchParams.get('token')
  }

  refuse(req: IncomingMessage, res: ServerResponse, path: string): void {
    const given = this.loginToken(req, path)
    if (given !== null) {
      if (sameSecret(given, this.token)) {
        const attributes = ['HttpOnly', 'SameSite=Strict', 'Path=/', ...(this.secure ? ['Secure'] : [])]
        res.writeHead(303, { location: '/', 'set-cookie': `${SESSION_COOKIE}=${this.session}; ${attributes.join('; ')}`, 'cache-control': 'no-store' })
        res.end()
        return
      }
      sendLoginPage(res, 'That token is not right.')
      return
    }
    if (req.method === 'GET' && path === '/' && (req.headers.accept ?? '').includes('text/html')) {
      sendLoginPage(res, '')
      return
    }
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="heart"', 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify({ error: 'this heart needs a token: send Authorization: Bearer TOKEN (the live view at / asks for it once)' }))
  }
}

function sendLoginPage(res: ServerResponse, problem: string): void {
  // The form sends GET /?token=..., which refuse() trades for the cookie: one way to log in, and no form POST to allow.
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>heart: log in</title>
<style>body{font:16px system-ui,sans-serif;background:#111;color:#eee;display:grid;place-items:center;min-height:90vh}form{display:grid;gap:.6em;min-width:16em}input,button{font:inherit;padding:.4em}p.problem{color:#f88}</style>
</head><body><form method="get" action="/" autocomplete="off">
<label for="token">heart token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
${problem ? `<p class="problem" role="alert">${problem}</p>` : ''}
</form></body></html>
`
  res.writeHead(401, {
    'www-authenticate': 'Bearer realm="heart"',
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // Nobody frames the login form (clickjacking), and the page runs no script.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  })
  res.end(body)
}

/**
 * Slows down token guessing: an address that sends more than `maxFailures`
 * wrong secrets within `windowMs` is answered 429 for the rest of the
 * window, right token or not (else the lock would tell a guesser when it
 * hit). The table is bounded, so a flood of addresses cannot grow it.
 */
export class FailedLogins {
  private readonly byAddress = new Map<string, { since: number; failures: number }>()
  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `address` may try again; 0 when it is not locked. */
  lockedForS(address: string): number {
    const entry = this.byAddress.get(address)
    if (!entry) return 0
    const left = entry.since + this.windowMs - this.now()
    if (left <= 0) {
      this.byAddress.delete(address)
      return 0
    }
    return entry.failures > this.maxFailures ? Math.ceil(left / 1000) : 0
  }

  /** Counts a wrong secret; true when this one locks the address (log it once). */
  failed(address: string): boolean {
    const now = this.now()
    let entry = this.byAddress.get(address)
    if (!entry || now - entry.since >= this.windowMs) {
      if (!entry && this.byAddress.size >= this.maxAddresses) this.forgetExpired(now)
      entry = { since: now, failures: 0 }
      this.byAddress.set(address, entry)
    }
    entry.failures++
    return entry.failures === this.maxFailures + 1
  }

  private forgetExpired(now: number): void {
    for (const [address, entry] of this.byAddress) if (now - entry.since >= this.windowMs) this.byAddress.delete(address)
    // Still full of live entries: drop the oldest (Map keeps insertion order).
    while (this.byAddress.size >= this.maxAddresses) this.byAddress.delete(this.byAddress.keys().next().value!)
  }
}
