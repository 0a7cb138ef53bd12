import { cpus, loadavg, totalmem, release, platform, arch } from 'node:os'
import { writeFile } from 'node:fs/promises'

/** What every bench JSON says about the machine it ran on. */
export function machine(): Record<string, unknown> {
  const cpu = cpus()
  return {
    cpu_model: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
  }
}

/** The three figures `uptime` prints (1, 5, 15 minutes): on a shared machine they frame a run. */
export function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
}

export interface BenchReport {
  scope: string
  machine: Record<string, unknown>
  results: Record<string, Record<string, number | string | null>>
  ratios: Record<string, number>
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

export function round(x: number, digits = 2): number {
  return Math.round(x * 10 ** digits) / 10 ** digits
}

export async function writeReport(report: BenchReport, jsonFile: string | undefined): Promise<void> {
  if (jsonFile) await writeFile(jsonFile, JSON.stringify(report, null, 2) + '\n')
}

/** A plain table: one row a result, one column a figure. */
export function table(results: BenchReport['results']): string {
  const names = Object.keys(results)
  const cols = [...new Set(names.flatMap((n) => Object.keys(results[n]!)))]
  const rows = [['', ...cols], ...names.map((n) => [n, ...cols.map((c) => String(results[n]![c] ?? '-'))])]
  const widths = cols.map((_, i) => Math.max(...rows.map((r) => r[i + 1]!.length)))
  const first = Math.max(...rows.map((r) => r[0]!.length))
  return rows.map((r) => [r[0]!.padEnd(first), ...r.slice(1).map((v, i) => v.padStart(widths[i]!))].join('  ')).join('\n')
}
