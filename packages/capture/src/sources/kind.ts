// What a source kind is: one module per kind (./rtsp.ts, ./file.ts, ...),
// listed once in ./registry.ts. Everything heart knows about a kind lives in
// its module: its URL schemes and options, how they parse, what the native
// side opens, and the cheap reachability check between reconnects.
import type { SourceSpec as NativeSourceSpec } from '@heart/native'
import type { SourceUrl } from './url.js'

export type { NativeSourceSpec }

/** Fields every parsed source has, whatever its kind. */
export interface SourceBase {
  /** The URL as given, with credentials: only ever handed to the decoder. */
  readonly url: string
  /** The URL safe for logs, errors, metrics and health. */
  readonly redacted: string
}

export interface SourceKindModule<S extends SourceBase & { kind: string }> {
  /** The `kind` of every spec it parses. */
  readonly kind: S['kind']
  /** URL schemes it answers to, lower case; default: the kind's name (the RTSP kind answers to rtsp and rtsps). */
  readonly schemes?: readonly string[]
  /**
   * Query options it understands. The registry refuses any other (with a
   * did-you-mean) before `parse` runs, and a repeated one.
   */
  readonly options: readonly string[]
  /** Options it does not know pass to the source untouched, unless they are near misses of its own. */
  readonly passUnknownOptions?: boolean
  /** Its URLs may carry `user:pass@` credentials (split off and masked in every message). */
  readonly credentials?: boolean
  /** One example URL, for docs and error hints. */
  readonly example: string
  /** Reads the URL into a spec; throws INVALID_SOURCE naming what is wrong and what would be right. */
  parse(url: SourceUrl): S
  /**
   * What @heart/native opens for the spec: every option already typed, so
   * the crate never parses a query string. Absent for kinds whose frames are
   * made in JS (synthetic://).
   */
  native?(spec: S): NativeSourceSpec
  /**
   * A check far cheaper than a full open (a TCP connect, a device node's
   * existence), run between reconnect attempts; absent when there is none.
   */
  reachable?(spec: S, timeoutMs: number): (signal?: AbortSignal) => Promise<boolean>
}

/** Declares a kind with its spec type checked. */
export function defineSourceKind<S extends SourceBase & { kind: string }>(kind: SourceKindModule<S>): SourceKindModule<S> {
  return kind
}
