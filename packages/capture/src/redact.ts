// Credential scrubbing, and the one parser of a URL's credentials. RTSP
// cameras take credentials in the URL (rtsp://user:pass@host/...) and some
// take them in the query (?user=admin&password=...). Neither may reach a log
// line, error, metric label, trace attribute or health field, so every
// string that might carry a URL goes through here before it leaves the
// capture package. Passwords hold anything (space, / ? # @ : %, non-ASCII),
// raw or percent-encoded: the source grammar splits them off with
// splitUserinfo, and a whole URL is redacted by the same split, never by a
// pattern that a strange password could slip through.

const MASK = '***'

// scheme://userinfo@ — userinfo runs to the LAST '@' before the path, because
// camera passwords often contain a raw '@' that nobody percent-encoded.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\s]*)@/gi

// Query or form parameters whose value is a secret.
const SECRET_PARAM = /([?&;]|\b)(password|passwd|pass|pwd|token|access_token|auth|apikey|api_key|key|secret|signature|sig|user|username|usr)=([^&#\s"']*)/gi

/** The user and password of a URL, percent-decoded where they were encoded. */
export interface Userinfo {
  user: string
  password?: string
  /** As written in the URL. */
  raw: string
}

// host or [IPv6], optional :port, then the path, query, fragment or the end.
const HOST_AHEAD = /^(\[[0-9A-Fa-f:.]*\]|[^\s/?#@:[\]]+)(:\d{0,5})?/
const WHOLE_URL = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is

/**
 * Splits `user:pass@` off what follows `scheme://`. Userinfo runs to the LAST
 * '@' that a host follows, so raw '@' and ':' in a password work. A password
 * holding a raw '/', '?' or '#' is recognised when a path follows the host
 * (rtsp://u:a/b@cam/live); without a path such a URL is ambiguous and reads
 * as having no credentials (write them %2F %3F %23). `suspect` says an '@'
 * was left unexplained, so redaction masks up to it anyway.
 */
export function splitUserinfo(rest: string): { userinfo?: Userinfo; remainder: string; suspect: boolean } {
  // The usual case: an '@' before the first / ? or #.
  const authorityEnd = rest.search(/[/?#]/)
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd)
  let at = authority.lastIndexOf('@')
  if (at < 0) {
    // A raw / ? or # in the password: the last '@' that a host and a path follow.
    at = rest.lastIndexOf('@')
    while (at >= 0) {
      const host = HOST_AHEAD.exec(rest.slice(at + 1))
      if (host && rest[at + 1 + host[0].length] === '/') break
      at = at === 0 ? -1 : rest.lastIndexOf('@', at - 1)
    }
    if (at < 0) return { remainder: rest, suspect: rest.includes('@') }
  }
  const raw = rest.slice(0, at)
  const remainder = rest.slice(at + 1)
  if (raw === '') return { remainder, suspect: false }
  const colon = raw.indexOf(':')
  const userinfo: Userinfo = colon < 0 ? { user: decoded(raw), raw } : { user: decoded(raw.slice(0, colon)), password: decoded(raw.slice(colon + 1)), raw }
  return { userinfo, remainder, suspect: false }
}

/** Userinfo as a URL carries it, every reserved character percent-encoded. */
export function encodeUserinfo(u: Userinfo): string {
  return u.password === undefined ? encodeURIComponent(u.user) : `${encodeURIComponent(u.user)}:${encodeURIComponent(u.password)}`
}

/**
 * The URL with its user and password replaced by `***` and secret-looking
 * query values masked; safe to log. Works on strings that are not valid URLs
 * too (it never throws), because a typo'd URL still must not leak.
 */
export function redactUrl(url: string): string {
  const whole = WHOLE_URL.exec(url.trim())
  if (!whole) return maskText(url)
  const { userinfo, remainder, suspect } = splitUserinfo(whole[2]!)
  if (userinfo) return `${whole[1]}${MASK}@${maskQuerySecrets(remainder)}`
  // An '@' no host follows: whatever precedes the last one may be a password.
  if (suspect) return `${whole[1]}${MASK}@${maskQuerySecrets(remainder.slice(remainder.lastIndexOf('@') + 1))}`
  return `${whole[1]}${maskQuerySecrets(remainder)}`
}

/**
 * Scrub free text (an FFmpeg error message, a log line) of any URL
 * credentials, secret query values, and the literal `secrets` given (a
 * decoder may print the password percent-decoded, outside any URL).
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = maskText(text)
  // Longest first, so "pass" inside "password1" cannot leave a tail behind.
  const literal = [...new Set(secrets)].filter((s) => s.length >= 2).sort((a, b) => b.length - a.length)
  for (const s of literal) out = out.split(s).join(MASK)
  return out
}

/**
 * The literal credential strings in a URL, in every spelling a decoder might
 * print (raw and percent-decoded), for redactText.
 */
export function secretsOf(url: string): string[] {
  const out: string[] = []
  const whole = WHOLE_URL.exec(url.trim())
  const { userinfo } = whole ? splitUserinfo(whole[2]!) : { userinfo: undefined }
  if (userinfo) {
    const colon = userinfo.raw.indexOf(':')
    const parts = colon < 0 ? [userinfo.raw] : [userinfo.raw.slice(0, colon), userinfo.raw.slice(colon + 1)]
    for (const p of parts) pushSpellings(out, p)
    // The spelling the decoder is handed (encodeUserinfo), which its messages may quote.
    for (const p of [userinfo.user, userinfo.password ?? '']) out.push(encodeURIComponent(p))
  }
  for (const q of url.matchAll(SECRET_PARAM)) if (q[3]) pushSpellings(out, q[3])
  return [...new Set(out.filter((s) => s.length > 0))]
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    return part // a malformed escape: the raw spelling is the password
  }
}

function pushSpellings(out: string[], raw: string): void {
  out.push(raw)
  try {
    const decoded = decodeURIComponent(raw)
    if (decoded !== raw) out.push(decoded)
  } catch {
    // A malformed escape: the raw spelling is all a decoder could print.
  }
}

function maskUserinfo(s: string): string {
  return s.replace(URL_USERINFO, (_all, scheme: string, userinfo: string) =>
    userinfo.length === 0 ? `${scheme}@` : `${scheme}${MASK}@`,
  )
}

/** URLs inside free text: userinfo up to the last '@' of each URL-shaped word, and secret query values. */
function maskText(text: string): string {
  return maskQuerySecrets(maskUserinfo(text))
}

/** Secret-looking query values (password=, token=, ...) replaced by `***`. */
export function maskQuerySecrets(s: string): string {
  return s.replace(SECRET_PARAM, (_all, lead: string, name: string, value: string) =>
    value.length === 0 ? `${lead}${name}=` : `${lead}${name}=${MASK}`,
  )
}
