// The soak's HTML report: one self-contained file (inline SVG, inline CSS,
// no script, nothing fetched), so it opens from a CI artifact or an e-mail.
import type { TargetCheck } from './soak-targets.js'

export interface ChartSeries {
  name: string
  values: ReadonlyArray<number | null>
  color?: string
}

export interface Chart {
  title: string
  unit: string
  series: ChartSeries[]
  /** A horizontal target line. */
  target?: { value: number; label: string }
  /** Use a log scale on y (latencies with rare spikes). */
  log?: boolean
}

export interface Band {
  fromS: number
  toS: number
  label: string
}

export interface ReportPage {
  title: string
  subtitle: string
  checks: readonly TargetCheck[]
  /** Name / value rows about the machine and run. */
  facts: ReadonlyArray<[string, string]>
  /** Extra tables: a caption, a header row and rows. */
  tables: ReadonlyArray<{ caption: string; head: string[]; rows: string[][] }>
  t: readonly number[]
  bands: readonly Band[]
  charts: readonly Chart[]
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22']

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

function niceMax(x: number): number {
  if (!(x > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(x))
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p
  return 10 * p
}

function fmt(x: number): string {
  if (x === 0) return '0'
  const a = Math.abs(x)
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1).replace(/\.0$/, '') : a >= 1 ? x.toFixed(2).replace(/0$/, '').replace(/\.0$/, '') : x.toPrecision(2)
}

/** One chart as an SVG element: lines over time, fault bands behind, target line dashed. */
export function svgChart(chart: Chart, t: readonly number[], bands: readonly Band[], width = 920, height = 220): string {
  const left = 56
  const right = 150
  const top = 24
  const bottom = 28
  const w = width - left - right
  const h = height - top - bottom
  const tMax = Math.max(1, t[t.length - 1] ?? 1)
  const values = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)))
  if (chart.target) values.push(chart.target.value)
  const log = chart.log === true
  const positive = values.filter((v) => v > 0)
  const lo = log ? 10 ** Math.floor(Math.log10(Math.min(...positive, 1))) : 0
  const hi = log ? 10 ** Math.ceil(Math.log10(Math.max(...positive, lo * 10))) : niceMax(Math.max(...values, 0))
  const x = (s: number): number => left + (s / tMax) * w
  const y = (v: number): number => {
    if (log) {
      const c = Math.max(v, lo)
      return top + h - ((Math.log10(c) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * h
    }
    return top + h - (Math.min(v, hi) / hi) * h
  }
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(chart.title)}">`)
  out.push(`<text x="${left}" y="15" class="ct">${escapeHtml(chart.title)} <tspan class="cu">(${escapeHtml(chart.unit)}${log ? ', log scale' : ''})</tspan></text>`)
  for (const b of bands) {
    const x0 = x(Math.max(0, b.fromS))
    const x1 = x(Math.min(tMax, b.toS))
    out.push(`<rect x="${x0.toFixed(1)}" y="${top}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${h}" class="band"><title>${escapeHtml(b.label)}</title></rect>`)
  }
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * 10 ** i)
    : [0, 0.25, 0.5, 0.75, 1].map((f) => f * hi)
  for (const v of ticks) {
    out.push(`<line x1="${left}" x2="${left + w}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`)
    out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" class="ax" text-anchor="end">${fmt(v)}</text>`)
  }
  const step = niceMax(tMax / 8)
  for (let s = 0; s <= tMax; s += step) out.push(`<text x="${x(s).toFixed(1)}" y="${height - 8}" class="ax" text-anchor="middle">${fmt(s)} s</text>`)
  if (chart.target) {
    const ty = y(chart.target.value).toFixed(1)
    out.push(`<line x1="${left}" x2="${left + w}" y1="${ty}" y2="${ty}" class="target"/>`)
    out.push(`<text x="${left + w + 6}" y="${ty}" class="tl">${escapeHtml(chart.target.label)}</text>`)
  }
  chart.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!
    let d = ''
    let pen = false
    s.values.forEach((v, k) => {
      if (v === null || !Number.isFinite(v) || t[k] === undefined) {
        pen = false
        return
      }
      d += `${pen ? 'L' : 'M'}${x(t[k]!).toFixed(1)},${y(v).toFixed(1)}`
      pen = true
    })
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.3"/>`)
    const ly = top + 14 + i * 15
    out.push(`<line x1="${left + w + 6}" x2="${left + w + 20}" y1="${ly + 18}" y2="${ly + 18}" stroke="${color}" stroke-width="3"/>`)
    out.push(`<text x="${left + w + 24}" y="${ly + 22}" class="lg">${escapeHtml(s.name)}</text>`)
  })
  out.push(`<rect x="${left}" y="${top}" width="${w}" height="${h}" class="frame"/>`)
  out.push('</svg>')
  return out.join('')
}

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>, cls = ''): string {
  const thead = head.some((c) => c !== '') ? `<thead><tr>${head.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>` : ''
  return `<table class="${cls}">${thead}<tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#222}
h1{font-size:22px;margin:0}h2{font-size:17px;margin:28px 0 8px}.sub{color:#555;margin:4px 0 16px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;overflow-wrap:anywhere}th{background:#f3f3f3;white-space:nowrap;overflow-wrap:normal}
.pass{color:#116611;font-weight:600}.fail{color:#b00;font-weight:600}
svg{display:block;margin:10px 0}.ct{font-weight:600;font-size:13px}.cu{font-weight:400;fill:#666}
.ax,.lg,.tl{font-size:11px;fill:#444}.grid{stroke:#e6e6e6}.frame{fill:none;stroke:#999}
.target{stroke:#b00;stroke-dasharray:5 4}.tl{fill:#b00}.band{fill:#ffcc66;opacity:.35}`

/** The whole report page. */
export function renderReport(page: ReportPage): string {
  const verdict = page.checks.every((c) => c.pass)
  const checks = `<table><thead><tr><th>target</th><th>goal</th><th>measured</th><th>verdict</th></tr></thead><tbody>${page.checks
    .map((c) => `<tr><td>${escapeHtml(c.name)}</td><td>${escapeHtml(c.target)}</td><td>${escapeHtml(c.shown)}</td><td class="${c.pass ? 'pass' : 'fail'}">${c.pass ? 'PASS' : 'FAIL'}</td></tr>`)
    .join('')}</tbody></table>`
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(page.title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(page.title)}</h1><p class="sub">${escapeHtml(page.subtitle)}</p>`,
    `<h2>Targets (normal running: after warm-up, outside fault windows): <span class="${verdict ? 'pass' : 'fail'}">${verdict ? 'all met' : 'NOT all met'}</span></h2>`,
    checks,
    '<h2>Run and machine</h2>',
    table(['', ''], page.facts.map(([k, v]) => [k, v]), 'facts'),
    ...page.tables.flatMap((tb) => [`<h2>${escapeHtml(tb.caption)}</h2>`, table(tb.head, tb.rows)]),
    '<h2>Over time</h2><p class="sub">Shaded: fault windows (from the fault to its recovery, plus a guard). Dashed red: the target.</p>',
    ...page.charts.map((c) => svgChart(c, page.t, page.bands)),
    '</body></html>',
  ].join('\n')
}
