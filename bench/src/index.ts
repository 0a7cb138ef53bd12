export { benchRing } from './ring.js'
export type { RingBenchOptions } from './ring.js'
export { machine, median, percentile, table } from './report.js'
export type { BenchReport } from './report.js'
