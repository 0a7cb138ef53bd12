// Catalogue validation, hashing and layout. Both MetricsRegistry.create and
// .attach run the same pure function over the catalogue, so the layout is
// identical in every thread; the hash written into the buffer proves it.

import { BucketScheme } from './buckets.js'
import { Histogram } from './histogram.js'
import { badCatalogue } from './errors.js'
import { COUNTER_BYTES, GAUGE_BYTES, HEADER_BYTES, REGION_ALIGN, alignUp } from './layout.js'
import type { Catalogue, MetricDeclaration, MetricKind } from './types.js'

const NAME_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/
const ATTRIBUTE_KEY_PATTERN = /^[a-z][a-z0-9_]*$/
const KINDS: readonly MetricKind[] = ['counter', 'gauge', 'histogram']

export interface MetricLayout {
  declaration: MetricDeclaration
  /** Attribute keys in layout (sorted) order. */
  keys: readonly string[]
  /** Allowed values per key, same order as keys. */
  values: readonly (readonly string[])[]
  /** Number of attribute combinations (1 without attributes). */
  instanceCount: number
  /** Byte offset of combination 0; combination i is at byteOffset + i * regionBytes. */
  byteOffset: number
  regionBytes: number
  scheme?: BucketScheme
}

export interface CatalogueLayout {
  metrics: ReadonlyMap<string, MetricLayout>
  byteLength: number
  instanceCount: number
  hash: number
}

export function layoutCatalogue(catalogue: Catalogue): CatalogueLayout {
  if (!Array.isArray(catalogue) || catalogue.length === 0) throw badCatalogue('it must be a non-empty array of metric declarations')
  const metrics = new Map<string, MetricLayout>()
  let offset = HEADER_BYTES
  let instanceCount = 0
  for (const declaration of catalogue) {
    validateDeclaration(declaration)
    if (metrics.has(declaration.name)) throw badCatalogue(`metric "${declaration.name}" is declared twice`)
    const keys = Object.keys(declaration.attributes ?? {}).sort()
    const values = keys.map((k) => declaration.attributes![k]!)
    const combos = values.reduce((n, v) => n * v.length, 1)
    let regionBytes: number
    let scheme: BucketScheme | undefined
    if (declaration.kind === 'counter') regionBytes = COUNTER_BYTES
    else if (declaration.kind === 'gauge') regionBytes = GAUGE_BYTES
    else {
      scheme = new BucketScheme(declaration.histogram ?? {})
      regionBytes = Histogram.byteLength(scheme)
    }
    offset = alignUp(offset, REGION_ALIGN)
    metrics.set(declaration.name, { declaration, keys, values, instanceCount: combos, byteOffset: offset, regionBytes, scheme })
    offset += combos * regionBytes
    instanceCount += combos
  }
  return { metrics, byteLength: alignUp(offset, REGION_ALIGN), instanceCount, hash: hashCatalogue(metrics) }
}

function validateDeclaration(d: MetricDeclaration): void {
  if (d === null || typeof d !== 'object') throw badCatalogue(`every entry must be an object, got ${String(d)}`)
  if (typeof d.name !== 'string' || !NAME_PATTERN.test(d.name)) {
    throw badCatalogue(`metric name ${JSON.stringify(d.name)} must be lower-case dotted words, like "heart.frames.published"`)
  }
  if (!KINDS.includes(d.kind)) throw badCatalogue(`metric "${d.name}": kind must be one of ${KINDS.join(', ')}, got ${JSON.stringify(d.kind)}`)
  if (typeof d.unit !== 'string') throw badCatalogue(`metric "${d.name}": unit must be a string ("1" for dimensionless)`)
  if (d.histogram !== undefined && d.kind !== 'histogram') throw badCatalogue(`metric "${d.name}": histogram options given for a ${d.kind}`)
  for (const [key, allowed] of Object.entries(d.attributes ?? {})) {
    if (!ATTRIBUTE_KEY_PATTERN.test(key)) throw badCatalogue(`metric "${d.name}": attribute key "${key}" must be lower_snake_case`)
    if (!Array.isArray(allowed) || allowed.length === 0) {
      throw badCatalogue(`metric "${d.name}": attribute "${key}" needs a non-empty list of allowed values`)
    }
    const seen = new Set<string>()
    for (const v of allowed) {
      if (typeof v !== 'string' || v.length === 0) throw badCatalogue(`metric "${d.name}": attribute "${key}" values must be non-empty strings`)
      if (seen.has(v)) throw badCatalogue(`metric "${d.name}": attribute "${key}" lists "${v}" twice`)
      seen.add(v)
    }
  }
}

// FNV-1a over a canonical description of everything that shapes the layout.
function hashCatalogue(metrics: ReadonlyMap<string, MetricLayout>): number {
  const parts: string[] = []
  for (const m of metrics.values()) {
    const attrs = m.keys.map((k, i) => `${k}=${m.values[i]!.join('|')}`).join(';')
    parts.push(`${m.declaration.name}/${m.declaration.kind}/${attrs}/${m.scheme?.describe() ?? ''}`)
  }
  const text = parts.join('\n')
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/**
 * One catalogue from the parts each package declares next to the code that
 * records them. A metric that two parts both record (one histogram, each part
 * its own stages) may be declared by each: the declarations must agree on
 * everything but their attribute values, which are united in the order met.
 * Build it once (in the main thread) and hand the result to every worker, so
 * every thread lays the buffer out the same way.
 */
export function joinCatalogues(...parts: readonly Catalogue[]): Catalogue {
  const joined = new Map<string, MetricDeclaration>()
  for (const part of parts) {
    for (const d of part) {
      const seen = joined.get(d.name)
      if (seen === undefined) {
        joined.set(d.name, d)
        continue
      }
      if (declarationShape(seen) !== declarationShape(d)) {
        throw badCatalogue(`metric "${d.name}" is declared twice, differently (kind, unit, description, attribute keys or buckets); declare it alike in both places`)
      }
      const attributes: Record<string, readonly string[]> = {}
      for (const [key, values] of Object.entries(seen.attributes ?? {})) {
        attributes[key] = [...new Set([...values, ...d.attributes![key]!])]
      }
      joined.set(d.name, { ...seen, attributes })
    }
  }
  return [...joined.values()]
}

/** Everything of a declaration but its attribute values: what two declarations of one metric must share. */
function declarationShape(d: MetricDeclaration): string {
  const keys = Object.keys(d.attributes ?? {}).sort()
  return JSON.stringify([d.kind, d.unit, d.description, keys, d.histogram ?? null])
}
