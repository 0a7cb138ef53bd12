// The source kinds heart knows, and the one parser of source URLs: the
// scheme picks the kind, the kind's module reads the rest. Whatever this
// accepts, the native side opens (or fails for a reason of the camera, never
// of the URL): the crate is handed the typed spec, never the query string.
import { closest } from '@heart/kernel'
import { invalidSource } from '../errors.js'
import { redactUrl } from '../redact.js'
import { fileKind } from './file.js'
import { rtspKind } from './rtsp.js'
import { syntheticKind } from './synthetic.js'
import { testsrcKind } from './testsrc.js'
import { udpKind } from './udp.js'
import { v4l2Kind } from './v4l2.js'
import { SourceUrl } from './url.js'
import type { NativeSourceSpec, SourceKindModule } from './kind.js'

/** Every source kind; adding one is its module and one entry here. */
export const SOURCE_KINDS = [rtspKind, fileKind, v4l2Kind, testsrcKind, syntheticKind, udpKind] as const

type KindModule = (typeof SOURCE_KINDS)[number]
/** A parsed source URL, of whichever kind its scheme names. */
export type SourceSpec = ReturnType<KindModule['parse']>
export type SourceKind = SourceSpec['kind']

function schemesOf(kind: { kind: string; schemes?: readonly string[] }): readonly string[] {
  return kind.schemes ?? [kind.kind]
}

const BY_SCHEME = new Map<string, SourceKindModule<SourceSpec>>()
for (const kind of SOURCE_KINDS) for (const scheme of schemesOf(kind)) BY_SCHEME.set(scheme, kind as unknown as SourceKindModule<SourceSpec>)
const BY_KIND = new Map<string, SourceKindModule<SourceSpec>>(SOURCE_KINDS.map((k) => [k.kind, k as unknown as SourceKindModule<SourceSpec>]))
const SCHEMES = [...BY_SCHEME.keys()]
const KIND_NAMES = SOURCE_KINDS.map((k) => k.kind)

/** Parses and checks a source URL; throws INVALID_SOURCE saying what is wrong and what would be right. */
/**
 * The longest source accepted. Real camera URLs are well under 1 kB and a
 * path is at most PATH_MAX (4096); anything longer is a paste gone wrong and
 * would otherwise be repeated in every log line, status line and /health.
 */
export const MAX_SOURCE_LENGTH = 4096

export function parseSource(input: string): SourceSpec {
  if (typeof input !== 'string' || input.trim() === '') {
    throw invalidSource('empty source URL', `Give one of ${SCHEMES.map((s) => `${s}://`).join(', ')}`)
  }
  const text = input.trim()
  const safe = redactUrl(text)
  if (text.length > MAX_SOURCE_LENGTH) {
    throw invalidSource(
      `"${safe.slice(0, 60)}..." is ${text.length} characters long`,
      `A camera URL or file path is at most ${MAX_SOURCE_LENGTH} characters (Linux's longest path); check what was pasted`,
    )
  }
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(text)
  if (!m) {
    const looksLikePath = text.startsWith('/') || text.startsWith('.')
    throw invalidSource(
      `"${safe}" has no scheme`,
      looksLikePath
        ? `For a media file write file://${text.startsWith('/') ? text : '/absolute/path.mp4'}`
        : `Start it with one of ${SCHEMES.map((s) => `${s}://`).join(', ')}`,
    )
  }
  const scheme = m[1]!.toLowerCase()
  const kind = BY_SCHEME.get(scheme)
  if (!kind) {
    const guess = closest(scheme, SCHEMES)
    const supported = `Supported: ${KIND_NAMES.join(', ')} (schemes ${SCHEMES.map((s) => `${s}://`).join(', ')})`
    throw invalidSource(`unknown scheme "${scheme}://" in "${safe}"`, guess ? `Did you mean ${guess}://? ${supported}` : supported)
  }
  const url = new SourceUrl(text, scheme, m[2] ?? '', kind.credentials === true)
  url.checkOptions(kind.options, kind.passUnknownOptions)
  return kind.parse(url)
}

function moduleOf(spec: SourceSpec): SourceKindModule<SourceSpec> {
  const kind = BY_KIND.get(spec.kind)
  if (!kind) throw invalidSource(`unknown source kind "${String(spec.kind)}"`, `Known kinds: ${KIND_NAMES.join(', ')}`)
  return kind
}

/** What @heart/native opens for a parsed source; undefined for kinds drawn in JS (synthetic://). */
export function nativeSpec(spec: SourceSpec): NativeSourceSpec | undefined {
  return moduleOf(spec).native?.(spec)
}

/**
 * The probe for a source between full reconnect attempts, or undefined when
 * there is nothing cheaper than a full open (files, built-in sources).
 */
export function reachabilityProbe(spec: SourceSpec, timeoutMs: number): ((signal?: AbortSignal) => Promise<boolean>) | undefined {
  return moduleOf(spec).reachable?.(spec, timeoutMs)
}
