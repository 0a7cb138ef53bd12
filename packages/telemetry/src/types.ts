// Shapes shared by the registry, the catalogue and (later) the exporters.

import type { HistogramOptions } from './buckets.js'

export type MetricKind = 'counter' | 'gauge' | 'histogram'

/**
 * One declared metric. Attribute values are fixed lists so that every thread
 * derives the same memory layout from the same catalogue: one slot per
 * combination of values.
 */
export interface MetricDeclaration {
  /** OpenTelemetry-style dotted name, e.g. "heart.frames.dropped". */
  name: string
  kind: MetricKind
  /** UCUM-ish unit: "ms", "s", "{frame}", "1" ... */
  unit: string
  description: string
  /** Attribute key -> allowed values. Keys are laid out in sorted order. */
  attributes?: Readonly<Record<string, readonly string[]>>
  /** Bucket options, histograms only. */
  histogram?: HistogramOptions
}

export type Catalogue = readonly MetricDeclaration[]

export type Attributes = Readonly<Record<string, string>>
