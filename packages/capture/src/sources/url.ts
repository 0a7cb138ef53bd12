// The generic half of the source URL grammar: scheme, hierarchy, query
// options and the value rules several kinds share (sizes, rates, flags).
// Each kind module (./rtsp.ts, ./file.ts, ...) reads its own options through
// a SourceUrl, so a mistake is reported the same way whichever kind it is in.
import { closest } from '@heart/kernel'
import { invalidSource } from '../errors.js'
import { maskQuerySecrets, redactUrl, splitUserinfo, type Userinfo } from '../redact.js'
import type { Size } from '../types.js'

/** Frame-size and rate limits; native/src/spec.rs checks the same bounds on what it is handed. */
export const MIN_DIMENSION = 16
export const MAX_DIMENSION = 8192
export const MAX_FPS = 240

/** A source URL split into its parts, with the rules for reading its options. */
export class SourceUrl {
  /** The URL with credentials and secret query values masked, for messages. */
  readonly safe: string
  /** `user:pass@`, for kinds whose URLs carry credentials; split off before everything else. */
  readonly userinfo: Userinfo | undefined
  /** The part between `scheme://` (and the credentials) and the query: host and path. */
  readonly hierarchy: string
  readonly query: URLSearchParams
  /** The query as written (a camera's own parameters are passed on untouched). */
  readonly rawQuery: string

  /**
   * @param text the URL as given (with credentials)
   * @param scheme lower-cased scheme
   * @param rest what follows `scheme://`
   * @param credentials the kind's URLs may carry `user:pass@` (else an '@' is part of a path)
   */
  constructor(readonly text: string, readonly scheme: string, rest: string, credentials: boolean) {
    let remainder = rest
    if (credentials) {
      const split = splitUserinfo(rest)
      this.userinfo = split.userinfo
      remainder = split.remainder
      this.safe = redactUrl(text)
    } else {
      this.safe = `${scheme}://${maskQuerySecrets(rest)}`
    }
    // The fragment is cut after the credentials, so a '#' in a password stays in the password.
    const hashAt = remainder.indexOf('#')
    const noFragment = hashAt < 0 ? remainder : remainder.slice(0, hashAt)
    const q = noFragment.indexOf('?')
    this.hierarchy = q < 0 ? noFragment : noFragment.slice(0, q)
    this.rawQuery = q < 0 ? '' : noFragment.slice(q + 1)
    this.query = new URLSearchParams(this.rawQuery)
  }

  /**
   * Refuses options the kind does not know, with a suggestion. With
   * `passUnknown` (RTSP: cameras have their own channel=, subtype=...) only
   * near misses of the kind's options are errors; the rest go to the camera.
   */
  checkOptions(known: readonly string[], passUnknown = false): void {
    const seen = new Set<string>()
    for (const name of this.query.keys()) {
      if (known.includes(name)) {
        if (seen.has(name)) throw invalidSource(`option "${name}" given twice in "${this.safe}"`, 'Give each option once')
        seen.add(name)
        continue
      }
      const guess = closest(name, known)
      if (passUnknown && !guess) continue
      const list = known.length > 0 ? `${this.scheme}:// understands ${known.join(', ')}` : `${this.scheme}:// takes no options`
      throw invalidSource(`unknown option "${name}" in "${this.safe}"`, guess ? `Did you mean "${guess}"? ${list}` : list)
    }
  }

  /** A 0/1 (or true/false) option. */
  flag(name: string, fallback: boolean): boolean {
    const v = this.query.get(name)
    if (v === null) return fallback
    if (v === '1' || v === 'true' || v === '') return true
    if (v === '0' || v === 'false') return false
    throw invalidSource(`${name}=${v} in "${this.safe}"`, `Use ${name}=1 or ${name}=0`)
  }

  /** `size=WIDTHxHEIGHT`, when given. */
  size(): Size | undefined {
    const v = this.query.get('size')
    return v === null ? undefined : parseSize(v)
  }

  /** `fps=N` (fractions such as 29.97 allowed), when given. */
  fps(): number | undefined {
    const v = this.query.get('fps')
    if (v === null) return undefined
    const n = Number(v)
    if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0) || n > MAX_FPS) {
      throw invalidSource(`fps=${v} in "${this.safe}"`, `Give a frame rate above 0 and at most ${MAX_FPS}, for example fps=30`)
    }
    return n
  }

  /** An integer option within [min, max], when given. */
  integer(name: string, min: number, max: number): number | undefined {
    const v = this.query.get(name)
    if (v === null) return undefined
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw invalidSource(`${name}=${v} in "${this.safe}"`, `Give a whole number from ${min} to ${max}`)
    }
    return Number(v)
  }

  /** One of a set of words, when given. */
  word<const W extends string>(name: string, allowed: readonly W[]): W | undefined {
    const v = this.query.get(name)
    if (v === null) return undefined
    if (!(allowed as readonly string[]).includes(v)) {
      throw invalidSource(`${name}=${v} in "${this.safe}"`, `Use ${allowed.map((a) => `${name}=${a}`).join(', ').replace(/, ([^,]*)$/, ' or $1')}`)
    }
    return v as W
  }

  /** For kinds that take options only (testsrc://?size=...): no path. */
  noHierarchy(): void {
    if (this.hierarchy !== '' && this.hierarchy !== '/') {
      throw invalidSource(`"${this.safe}" has a path`, `${this.scheme}:// takes options only, for example ${this.scheme}://?size=1280x720&fps=30`)
    }
  }

  /** An absolute path after `scheme://` (file:///a.mp4, v4l2:///dev/video0), percent-decoded. */
  absolutePath(hint: string): string {
    if (!this.hierarchy.startsWith('/')) throw invalidSource(`"${this.safe}" is not an absolute ${this.scheme} URL`, hint)
    try {
      return decodeURIComponent(this.hierarchy)
    } catch {
      throw invalidSource(`bad percent-escape in "${this.safe}"`, 'Escape % as %25 in paths')
    }
  }
}

/** Parses "1920x1080"; exported for config files that spell sizes the same way. */
export function parseSize(text: string, where = 'size'): Size {
  const m = /^(\d{1,5})[xX](\d{1,5})$/.exec(text.trim())
  if (!m) throw invalidSource(`${where}=${text}`, `Write the size as WIDTHxHEIGHT, for example ${where}=1920x1080`)
  const width = Number(m[1])
  const height = Number(m[2])
  if (width < MIN_DIMENSION || height < MIN_DIMENSION || width > MAX_DIMENSION || height > MAX_DIMENSION) {
    throw invalidSource(`${where}=${text}`, `Width and height must be between ${MIN_DIMENSION} and ${MAX_DIMENSION}`)
  }
  if (width % 2 !== 0 || height % 2 !== 0) {
    throw invalidSource(`${where}=${text}`, '4:2:0 video needs even width and height, for example 1280x720')
  }
  return { width, height }
}
