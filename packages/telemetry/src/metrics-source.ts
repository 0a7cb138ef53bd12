// What the exporters read. One heart camera owns one registry (its own
// SharedArrayBuffer, so a camera's workers record exactly as a single camera's
// do); the exporters then read every camera's registry beside the process-wide
// one and tell the series apart by the labels each registry adds, so an
// operator sees one family per metric with a `camera` label on each series.

import type { MetricInstance, MetricsRegistry } from './registry.js'
import { badSourceLabels, mismatchedDeclarations } from './errors.js'
import type { Attributes, MetricDeclaration } from './types.js'

/** A registry whose every series is exported with `labels` added (a camera's registry: { camera: 'front' }). */
export interface LabelledRegistry {
  registry: MetricsRegistry
  labels: Readonly<Record<string, string>>
  /**
   * Only the metrics of these names get `labels`; absent, all do. One
   * camera's run keeps the process's series (the loop, threads) and the
   * camera's in one registry: only the camera's say camera="main".
   */
  labelledNames?: ReadonlySet<string>
}

/** The labels a registry adds to the series of one metric. */
function labelsFor(entry: LabelledRegistry, name: string): Readonly<Record<string, string>> {
  return entry.labelledNames === undefined || entry.labelledNames.has(name) ? entry.labels : {}
}

/** What the exporters read: one registry, or several whose series are exported together. */
export type MetricsSource = MetricsRegistry | readonly LabelledRegistry[]

/** One exported series: a registry's instance with its registry's labels added (first). */
export interface SourceSeries {
  instance: MetricInstance
  attributes: Attributes
}

/** Every series of one metric name, from every registry that declares it. */
export interface MetricFamily {
  declaration: MetricDeclaration
  series: SourceSeries[]
}

// Prometheus' label name grammar; `__` names are reserved for Prometheus itself
// and `le` is the bucket label of every histogram family.
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const RESERVED_LABELS: readonly string[] = ['le']

/** The source as a list of labelled registries (a plain registry adds no labels). */
export function labelledRegistries(source: MetricsSource): readonly LabelledRegistry[] {
  return isRegistryList(source) ? source : [{ registry: source, labels: {} }]
}

/**
 * Throws a named error when the source's series could not be exported as
 * families: a bad label name, a label that contradicts an attribute the
 * registry declares itself, two registries adding the same labels to one
 * metric (duplicate series), or one name declared two ways.
 */
export function checkMetricsSource(source: MetricsSource): void {
  const byName = new Map<string, { declaration: MetricDeclaration; labelSets: Set<string> }>()
  for (const entry of labelledRegistries(source)) {
    const { registry } = entry
    for (const key of Object.keys(entry.labels)) {
      if (!LABEL_NAME.test(key) || key.startsWith('__') || RESERVED_LABELS.includes(key)) {
        throw badSourceLabels(`label name "${key}" of the registry labelled ${describeLabels(entry.labels)} is not allowed; use letters, digits and _ (not first a digit), not starting with __, and not "le"`)
      }
    }
    for (const declaration of registry.catalogue) {
      const labels = labelsFor(entry, declaration.name)
      const labelSet = describeLabels(labels)
      for (const [key, allowed] of Object.entries(declaration.attributes ?? {})) {
        const added = labels[key]
        // A camera's own recorder series may already say which camera they are: the same one value is not a conflict.
        if (added !== undefined && (allowed.length !== 1 || allowed[0] !== added)) {
          throw badSourceLabels(
            `metric "${declaration.name}" of the registry labelled ${labelSet} declares its own "${key}" attribute (values: ${allowed.join(', ')}); ` +
              `an added label may repeat a declared attribute only when that attribute's one value is "${added}"`,
          )
        }
      }
      const seen = byName.get(declaration.name)
      if (seen === undefined) {
        byName.set(declaration.name, { declaration, labelSets: new Set([labelSet]) })
        continue
      }
      const difference = declarationDifference(seen.declaration, declaration)
      if (difference !== undefined) throw mismatchedDeclarations(declaration.name, difference)
      if (seen.labelSets.has(labelSet)) {
        throw badSourceLabels(`two registries labelled ${labelSet} both declare metric "${declaration.name}", so their series would be duplicates; give each registry distinct labels`)
      }
      seen.labelSets.add(labelSet)
    }
  }
}

/**
 * Every instance of every registry of the source, grouped by metric name in
 * the order names first appear (a plain registry: its catalogue order). Read
 * afresh at every call, so a scrape sees the registries the list holds now.
 */
export function metricFamilies(source: MetricsSource): MetricFamily[] {
  checkMetricsSource(source)
  const families = new Map<string, MetricFamily>()
  for (const entry of labelledRegistries(source)) {
    for (const instance of entry.registry.instances()) {
      const name = instance.declaration.name
      const labels = labelsFor(entry, name)
      const adds = Object.keys(labels).length > 0
      let family = families.get(name)
      if (family === undefined) {
        family = { declaration: instance.declaration, series: [] }
        families.set(name, family)
      }
      family.series.push({ instance, attributes: adds ? { ...labels, ...withoutKeys(instance.attributes, labels) } : instance.attributes })
    }
  }
  return [...families.values()]
}

function isRegistryList(source: MetricsSource): source is readonly LabelledRegistry[] {
  return Array.isArray(source)
}

function withoutKeys(attributes: Attributes, keys: Attributes): Attributes {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(attributes)) if (!(key in keys)) out[key] = value
  return out
}

function describeLabels(labels: Attributes): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`)
  return `{${parts.join(',')}}`
}

function declarationDifference(a: MetricDeclaration, b: MetricDeclaration): string | undefined {
  if (a.kind !== b.kind) return `a ${a.kind} in one, a ${b.kind} in another`
  if (a.unit !== b.unit) return `unit "${a.unit}" in one, "${b.unit}" in another`
  if (a.description !== b.description) return `description ${JSON.stringify(a.description)} in one, ${JSON.stringify(b.description)} in another`
  return undefined
}
