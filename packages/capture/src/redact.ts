// Credential scrubbing. RTSP cameras take credentials in the URL
// (rtsp://user:pass@host/...) and some take them in the query
// (?user=admin&password=...). Neither may reach a log line, error, metric
// label, trace attribute or health field, so every string that might carry a
// URL goes through here before it leaves the capture package.

const MASK = '***'

// scheme://userinfo@ — userinfo runs to the LAST '@' before the path, because
// camera passwords often contain a raw '@' that nobody percent-encoded.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\s]*)@/gi

// Query or form parameters whose value is a secret.
const SECRET_PARAM = /([?&;]|\b)(password|passwd|pass|pwd|token|access_token|auth|apikey|api_key|key|secret|signature|sig|user|username|usr)=([^&#\s"']*)/gi

/**
 * The URL with its user and password replaced by `***` and secret-looking
 * query values masked; safe to log. Works on strings that are not valid URLs
 * too (it never throws), because a typo'd URL still must not leak.
 */
export function redactUrl(url: string): string {
  return maskQuerySecrets(maskUserinfo(url))
}

/**
 * Scrub free text (an FFmpeg error message, a log line) of any URL
 * credentials, secret query values, and the literal `secrets` given (a
 * decoder may print the password percent-decoded, outside any URL).
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = redactUrl(text)
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
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#\s]*)@/i.exec(url)
  if (m && m[1] !== undefined) {
    const userinfo = m[1]
    const colon = userinfo.indexOf(':')
    const parts = colon < 0 ? [userinfo] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)]
    for (const p of parts) pushSpellings(out, p)
  }
  for (const q of url.matchAll(SECRET_PARAM)) if (q[3]) pushSpellings(out, q[3])
  return out.filter((s) => s.length > 0)
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

function maskQuerySecrets(s: string): string {
  return s.replace(SECRET_PARAM, (_all, lead: string, name: string, value: string) =>
    value.length === 0 ? `${lead}${name}=` : `${lead}${name}=${MASK}`,
  )
}
