// How catalogue names and units become Prometheus names, following the
// OpenTelemetry -> Prometheus compatibility rules (dots to underscores, a unit
// suffix, `_total` on counters) except that millisecond metrics are converted
// to seconds, the Prometheus base unit, so dashboards never mix the two.

import type { MetricDeclaration } from './types.js'

export interface PrometheusNaming {
  /** Base name: for histograms add _bucket/_sum/_count, counters already end in _total. */
  name: string
  /** Multiply recorded values by this to get the exposed unit. */
  scale: number
}

const UNIT_RULES: Record<string, { suffix: string; scale: number }> = {
  ms: { suffix: 'seconds', scale: 1e-3 },
  us: { suffix: 'seconds', scale: 1e-6 },
  s: { suffix: 'seconds', scale: 1 },
  By: { suffix: 'bytes', scale: 1 },
}

export function prometheusNaming(declaration: MetricDeclaration): PrometheusNaming {
  let name = declaration.name.replace(/\./g, '_')
  let scale = 1
  const rule = UNIT_RULES[declaration.unit]
  if (rule) {
    if (!name.endsWith(`_${rule.suffix}`)) name += `_${rule.suffix}`
    scale = rule.scale
  } else if (declaration.unit === '1' && declaration.kind === 'gauge' && !name.endsWith('_ratio')) {
    name += '_ratio'
  }
  // Annotations like {frame} carry no suffix: they are not units.
  if (declaration.kind === 'counter' && !name.endsWith('_total')) name += '_total'
  return { name, scale }
}
