// Reads the PromQL out of a Grafana dashboard JSON so tests can run every
// panel query against a real Prometheus (scraping a real `heart run`) and
// catch a renamed metric or a broken expression before an operator does.

export interface DashboardQuery {
  panelId: number | undefined
  panelTitle: string
  refId: string
  /** The expression as written in the dashboard (with Grafana variables). */
  expr: string
}

export interface PromQlSubstitutions {
  /** Values for dashboard variables ($job, ${job}, [[job]]). Unlisted variables become ".*". */
  variables?: Record<string, string>
  /** $__rate_interval. Default "1m". */
  rateInterval?: string
  /** $__interval. Default "15s". */
  interval?: string
  /** $__range. Default "5m". */
  range?: string
}

interface PanelLike {
  id?: number
  title?: string
  type?: string
  panels?: PanelLike[]
  targets?: { refId?: string; expr?: string; hide?: boolean }[]
}

/** Every enabled PromQL target of every panel, rows (collapsed or not) included. */
export function dashboardQueries(dashboard: unknown): DashboardQuery[] {
  if (dashboard === null || typeof dashboard !== 'object' || !Array.isArray((dashboard as { panels?: unknown }).panels)) {
    throw new Error('not a Grafana dashboard: expected an object with a "panels" array (export the dashboard JSON, not the provisioning YAML)')
  }
  const out: DashboardQuery[] = []
  const walk = (panels: PanelLike[]): void => {
    for (const panel of panels) {
      if (Array.isArray(panel.panels)) walk(panel.panels)
      for (const target of panel.targets ?? []) {
        if (target.hide || typeof target.expr !== 'string' || target.expr.trim() === '') continue
        out.push({ panelId: panel.id, panelTitle: panel.title ?? '', refId: target.refId ?? '', expr: target.expr })
      }
    }
  }
  walk((dashboard as { panels: PanelLike[] }).panels)
  return out
}

/** Turns a dashboard expression into plain PromQL that Prometheus' HTTP API accepts. */
export function toPromQl(expr: string, options: PromQlSubstitutions = {}): string {
  const builtins: Record<string, string> = {
    __rate_interval: options.rateInterval ?? '1m',
    __interval: options.interval ?? '15s',
    __range: options.range ?? '5m',
  }
  const lookup = (name: string): string => builtins[name] ?? options.variables?.[name] ?? '.*'
  return expr
    .replace(/\$\{(\w+)(?::\w+)?\}/g, (_m, name: string) => lookup(name))
    .replace(/\[\[(\w+)\]\]/g, (_m, name: string) => lookup(name))
    .replace(/\$(\w+)/g, (_m, name: string) => lookup(name))
}
