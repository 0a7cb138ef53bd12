// The targets a soak is judged against (docs/architecture.md and docs/planning/, from the source plans).
// They are fixed here on purpose: a run that misses one fails, with its figure.

export const SOAK_TARGETS = Object.freeze({
  /** Lost frames per frame offered, worst consumer, normal running. */
  dropRatioMax: 0.001,
  /** Main tick interval p99 must stay below this. */
  tickP99MsBelow: 8,
  /** Packet receipt to publish, p99. */
  receiveToPublishP99MsMax: 30,
  thermalHzMin: 9.5,
  thermalLossMax: 0.05,
  /** RSS at the end against RSS just after warm-up. */
  rssGrowthMax: 0.02,
})

/**
 * Drop reasons that are policy, not loss: a consumer capped at 5 fps skips
 * the rest by design (`rate_limited`), and the detector skips frames while
 * the supervisor holds the camera down (`ai_locked`). Every other reason is a
 * frame the consumer wanted and did not get.
 */
export const POLICY_DROP_REASONS: ReadonlySet<string> = new Set(['rate_limited', 'ai_locked'])

export function isLoss(reason: string): boolean {
  return !POLICY_DROP_REASONS.has(reason)
}

/** What the steady (normal running) seconds of a soak amount to. */
export interface SteadyFigures {
  seconds: number
  /** Per consumer: frames offered and frames lost in the steady seconds. */
  consumers: Record<string, { offered: number; lost: number }>
  /** Frames the producer could not publish (no free slot) in the steady seconds. */
  producerLost: number
  published: number
  tickP99Ms: number | null
  receiveToPublishP99Ms: number | null
  thermalHz: number | null
  thermalLoss: number | null
  rssGrowth: number | null
}

export interface TargetCheck {
  name: string
  target: string
  value: number | null
  /** How the value reads in a table. */
  shown: string
  pass: boolean
}

const pct = (x: number, digits = 3): string => `${(x * 100).toFixed(digits)} %`

/** The worst consumer's loss ratio (producer losses hit every consumer, so they add to each). */
export function worstDropRatio(f: SteadyFigures): { consumer: string | null; ratio: number } {
  let worst: { consumer: string | null; ratio: number } = { consumer: null, ratio: 0 }
  for (const [name, c] of Object.entries(f.consumers)) {
    const offered = c.offered + f.producerLost
    const ratio = offered > 0 ? (c.lost + f.producerLost) / offered : 0
    if (worst.consumer === null || ratio > worst.ratio) worst = { consumer: name, ratio }
  }
  return worst
}

export function judge(f: SteadyFigures): TargetCheck[] {
  const t = SOAK_TARGETS
  const worst = worstDropRatio(f)
  const checks: TargetCheck[] = [
    {
      name: 'frame drops (worst consumer)',
      target: `<= ${pct(t.dropRatioMax, 1)}`,
      value: worst.ratio,
      shown: `${pct(worst.ratio)}${worst.consumer ? ` (${worst.consumer})` : ''}`,
      pass: worst.consumer !== null && worst.ratio <= t.dropRatioMax,
    },
    {
      name: 'main tick interval p99',
      target: `< ${t.tickP99MsBelow} ms`,
      value: f.tickP99Ms,
      shown: f.tickP99Ms === null ? 'no ticks' : `${f.tickP99Ms.toFixed(2)} ms`,
      pass: f.tickP99Ms !== null && f.tickP99Ms < t.tickP99MsBelow,
    },
    {
      name: 'receive to publish p99',
      target: `<= ${t.receiveToPublishP99MsMax} ms`,
      value: f.receiveToPublishP99Ms,
      shown: f.receiveToPublishP99Ms === null ? 'no frames' : `${f.receiveToPublishP99Ms.toFixed(2)} ms`,
      pass: f.receiveToPublishP99Ms !== null && f.receiveToPublishP99Ms <= t.receiveToPublishP99MsMax,
    },
    {
      name: 'thermal rate',
      target: `>= ${t.thermalHzMin} Hz`,
      value: f.thermalHz,
      shown: f.thermalHz === null ? 'no thermal' : `${f.thermalHz.toFixed(2)} Hz`,
      pass: f.thermalHz !== null && f.thermalHz >= t.thermalHzMin,
    },
    {
      name: 'thermal loss',
      target: `<= ${pct(t.thermalLossMax, 0)}`,
      value: f.thermalLoss,
      shown: f.thermalLoss === null ? 'no thermal' : pct(f.thermalLoss, 2),
      pass: f.thermalLoss !== null && f.thermalLoss <= t.thermalLossMax,
    },
    {
      name: 'RSS growth after warm-up (steady drift)',
      target: `<= ${pct(t.rssGrowthMax, 0)}`,
      value: f.rssGrowth,
      shown: f.rssGrowth === null ? 'too short' : pct(f.rssGrowth, 2),
      pass: f.rssGrowth !== null && f.rssGrowth <= t.rssGrowthMax,
    },
  ]
  return checks
}

/** The summary table printed at the end of a soak. */
export function targetTable(checks: readonly TargetCheck[]): string {
  const rows = [['target', 'goal', 'measured', 'verdict'], ...checks.map((c) => [c.name, c.target, c.shown, c.pass ? 'PASS' : 'FAIL'])]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}
