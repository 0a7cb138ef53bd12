// The metrics registry: one SharedArrayBuffer holding every counter, gauge and
// histogram of a catalogue. The main thread creates it; workers attach to the
// same buffer (passed in their config) and get handles to the same memory.
// Handles are looked up once (string work happens here, never per update).

import { Counter } from './counter.js'
import { Gauge } from './gauge.js'
import { Histogram } from './histogram.js'
import { layoutCatalogue, type CatalogueLayout, type MetricLayout } from './catalogue.js'
import { badAttributes, badMetricsBuffer, catalogueMismatch, unknownMetric, wrongKind } from './errors.js'
import {
  HEADER_BYTE_LENGTH_WORD,
  HEADER_BYTES,
  HEADER_CATALOGUE_HASH_WORD,
  HEADER_INSTANCE_COUNT_WORD,
  HEADER_MAGIC_WORD,
  HEADER_VERSION_WORD,
  METRICS_LAYOUT_VERSION,
  METRICS_MAGIC,
} from './layout.js'
import type { Attributes, Catalogue, MetricDeclaration, MetricKind } from './types.js'

type Handle = Counter | Gauge | Histogram

/** One metric + attribute combination, as the exporters walk them. */
export interface MetricInstance {
  declaration: MetricDeclaration
  attributes: Attributes
  kind: MetricKind
  handle: Handle
}

export class MetricsRegistry {
  readonly buffer: SharedArrayBuffer
  readonly catalogue: Catalogue
  /** FNV-1a hash of the catalogue's layout, also stored in the buffer header. */
  readonly catalogueHash: number
  private readonly layout: CatalogueLayout
  private readonly handles = new Map<string, Handle>()

  private constructor(buffer: SharedArrayBuffer, catalogue: Catalogue, layout: CatalogueLayout) {
    this.buffer = buffer
    this.catalogue = catalogue
    this.layout = layout
    this.catalogueHash = layout.hash
  }

  /** Lays out a fresh buffer for the catalogue. Main thread, once. */
  static create(catalogue: Catalogue): MetricsRegistry {
    const layout = layoutCatalogue(catalogue)
    const buffer = new SharedArrayBuffer(layout.byteLength)
    const header = new Int32Array(buffer, 0, HEADER_BYTES / 4)
    header[HEADER_VERSION_WORD] = METRICS_LAYOUT_VERSION
    header[HEADER_CATALOGUE_HASH_WORD] = layout.hash | 0
    header[HEADER_BYTE_LENGTH_WORD] = layout.byteLength
    header[HEADER_INSTANCE_COUNT_WORD] = layout.instanceCount
    // Magic last: a buffer with a magic word is a complete one.
    Atomics.store(header, HEADER_MAGIC_WORD, METRICS_MAGIC)
    return new MetricsRegistry(buffer, catalogue, layout)
  }

  /** Wraps a buffer made by create() (in any thread), after checking it matches the catalogue. */
  static attach(buffer: SharedArrayBuffer, catalogue: Catalogue): MetricsRegistry {
    if (!(buffer instanceof SharedArrayBuffer)) {
      throw badMetricsBuffer(`expected a SharedArrayBuffer, got ${Object.prototype.toString.call(buffer)}`)
    }
    if (buffer.byteLength < HEADER_BYTES) throw badMetricsBuffer(`it is ${buffer.byteLength} bytes, smaller than the ${HEADER_BYTES}-byte header`)
    const header = new Int32Array(buffer, 0, HEADER_BYTES / 4)
    const magic = Atomics.load(header, HEADER_MAGIC_WORD) >>> 0
    if (magic !== METRICS_MAGIC) {
      throw badMetricsBuffer(`wrong magic 0x${magic.toString(16)} (expected 0x${METRICS_MAGIC.toString(16)}): this is not a heart metrics buffer`)
    }
    const version = header[HEADER_VERSION_WORD]!
    if (version !== METRICS_LAYOUT_VERSION) {
      throw badMetricsBuffer(
        `layout version ${version}, but this @heart/telemetry reads version ${METRICS_LAYOUT_VERSION}; every thread must load the same @heart/telemetry build`,
      )
    }
    const layout = layoutCatalogue(catalogue)
    const found = header[HEADER_CATALOGUE_HASH_WORD]! >>> 0
    if (found !== layout.hash) throw catalogueMismatch(layout.hash, found)
    if (header[HEADER_BYTE_LENGTH_WORD] !== layout.byteLength || buffer.byteLength !== layout.byteLength) {
      throw badMetricsBuffer(`its size (${buffer.byteLength} bytes) does not match the catalogue's layout (${layout.byteLength} bytes)`)
    }
    return new MetricsRegistry(buffer, catalogue, layout)
  }

  counter(name: string, attributes: Attributes = {}): Counter {
    return this.handle(name, 'counter', attributes) as Counter
  }

  gauge(name: string, attributes: Attributes = {}): Gauge {
    return this.handle(name, 'gauge', attributes) as Gauge
  }

  histogram(name: string, attributes: Attributes = {}): Histogram {
    return this.handle(name, 'histogram', attributes) as Histogram
  }

  /** Every metric/attribute combination, in catalogue order: what exporters read. */
  *instances(): IterableIterator<MetricInstance> {
    for (const m of this.layout.metrics.values()) {
      for (let i = 0; i < m.instanceCount; i++) {
        const attributes = attributesOf(m, i)
        yield { declaration: m.declaration, attributes, kind: m.declaration.kind, handle: this.handle(m.declaration.name, m.declaration.kind, attributes) }
      }
    }
  }

  declaration(name: string): MetricDeclaration | undefined {
    return this.layout.metrics.get(name)?.declaration
  }

  private handle(name: string, kind: MetricKind, attributes: Attributes): Handle {
    const m = this.layout.metrics.get(name)
    if (m === undefined) throw unknownMetric(name, [...this.layout.metrics.keys()])
    if (m.declaration.kind !== kind) throw wrongKind(name, m.declaration.kind, kind)
    const index = instanceIndex(m, attributes)
    const key = `${name}#${index}`
    let handle = this.handles.get(key)
    if (handle === undefined) {
      const byteOffset = m.byteOffset + index * m.regionBytes
      if (kind === 'counter') handle = new Counter(this.buffer, byteOffset)
      else if (kind === 'gauge') handle = new Gauge(this.buffer, byteOffset)
      else handle = new Histogram(m.scheme!, { buffer: this.buffer, byteOffset })
      this.handles.set(key, handle)
    }
    return handle
  }
}

// Mixed-radix index over the sorted attribute keys.
function instanceIndex(m: MetricLayout, attributes: Attributes): number {
  const given = Object.keys(attributes ?? {})
  for (const key of given) {
    if (!m.keys.includes(key)) {
      throw badAttributes(
        m.declaration.name,
        m.keys.length === 0 ? `takes no attributes, got "${key}"` : `unknown attribute "${key}"; declared: ${m.keys.join(', ')}`,
      )
    }
  }
  let index = 0
  for (let k = 0; k < m.keys.length; k++) {
    const key = m.keys[k]!
    const allowed = m.values[k]!
    const value = attributes[key]
    if (value === undefined) throw badAttributes(m.declaration.name, `attribute "${key}" is required (one of: ${allowed.join(', ')})`)
    const position = allowed.indexOf(value)
    if (position < 0) {
      throw badAttributes(m.declaration.name, `attribute ${key}="${value}" is not declared; allowed: ${allowed.join(', ')}. Add it to the catalogue.`)
    }
    index = index * allowed.length + position
  }
  return index
}

function attributesOf(m: MetricLayout, index: number): Attributes {
  const out: Record<string, string> = {}
  for (let k = m.keys.length - 1; k >= 0; k--) {
    const allowed = m.values[k]!
    out[m.keys[k]!] = allowed[index % allowed.length]!
    index = Math.floor(index / allowed.length)
  }
  // Present keys in sorted order regardless of the decode direction.
  const sorted: Record<string, string> = {}
  for (const key of m.keys) sorted[key] = out[key]!
  return sorted
}
