import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ExcelJS from 'exceljs'
import { computeRigBudget, type CameraBudgetInput, type RigBudget } from '../src/budget-cameras.js'
import { parseBudgetArgs, STANDARD_RIG_ARGS } from '../src/budget-cli.js'
import { rigBudgetWorkbook, writeRigBudgetXlsx, XLSX_LAYOUT } from '../src/budget-xlsx.js'

type CellValue = number | string | null
type Formula = { formula: string; result: CellValue }

const isFormula = (v: unknown): v is Formula => typeof v === 'object' && v !== null && 'formula' in v

/**
 * Evaluates the sheet's formulas (exceljs does not calculate), knowing only
 * the functions the budget uses, so a test can change an input and see what a
 * spreadsheet program would show. Cell references become lookups in the sheet.
 */
function evaluator(ws: ExcelJS.Worksheet): (address: string) => CellValue {
  const columns = (from: string, to: string): string[] => {
    const out: string[] = []
    for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c++) out.push(String.fromCharCode(c))
    return out
  }
  const value = (address: string): CellValue => {
    const v = ws.getCell(address).value as unknown
    if (isFormula(v)) return compute(v.formula)
    return v === undefined ? null : (v as CellValue)
  }
  const range = (from: string, to: string): CellValue[][] => {
    const [, c1, r1] = /([A-Z])(\d+)/.exec(from)!
    const [, c2, r2] = /([A-Z])(\d+)/.exec(to)!
    const rows: CellValue[][] = []
    for (let r = Number(r1); r <= Number(r2); r++) rows.push(columns(c1!, c2!).map((c) => value(`${c}${r}`)))
    return rows
  }
  const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d
  const fns = {
    ROUND: round,
    ROUNDUP: (x: number, d: number): number => Math.ceil(x * 10 ** d) / 10 ** d,
    MIN: Math.min,
    MAX: Math.max,
    IF: (c: boolean, a: CellValue, b: CellValue): CellValue => (c ? a : b),
    ISNUMBER: (x: unknown): boolean => typeof x === 'number',
    VLOOKUP: (key: CellValue, table: CellValue[][], column: number): CellValue => table.find((row) => row[0] === key)?.[column - 1] ?? null,
    SUM: (cells: CellValue[][]): number => cells.flat().reduce<number>((a, x) => a + (typeof x === 'number' ? x : 0), 0),
    COUNTA: (cells: CellValue[][]): number => cells.flat().filter((x) => x !== null && x !== '').length,
  }
  const compute = (formula: string): CellValue => {
    const js = formula
      .replace(/\$?([A-Z])\$?(\d+):\$?([A-Z])\$?(\d+)/g, (_, c1, r1, c2, r2) => `range('${c1}${r1}','${c2}${r2}')`)
      .replace(/(?<![A-Za-z'])\$?([A-Z])\$?(\d+)(?![\d'])/g, (_, c, r) => `value('${c}${r}')`)
      .replace(/\bFALSE\b/g, 'false')
    return new Function('fns', 'value', 'range', `with (fns) { return (${js}) }`)(fns, value, range) as CellValue
  }
  return value
}

const COMPUTED: Array<[string, (c: RigBudget['cameras'][number]) => number | null]> = [
  ['O', (c) => c.bytes_per_frame],
  ['P', (c) => c.ring_slots],
  ['Q', (c) => c.ring_memory_mb],
  ['R', (c) => c.packet_ring_mb],
  ['S', (c) => c.memory_traffic_mb_s],
  ['T', (c) => c.storage_gb_per_h],
  ['U', (c) => c.cpu_cores],
]
const TOTALS: Array<[string, (b: RigBudget) => number]> = [
  ['Q', (b) => b.totals.ring_memory_mb],
  ['R', (b) => b.totals.packet_ring_mb],
  ['S', (b) => b.totals.memory_traffic_mb_s],
  ['T', (b) => b.totals.storage_gb_per_h],
  ['U', (b) => b.totals.cpu_cores],
]

/** Every computed cell is a formula whose cached result is computeRigBudget's figure. */
function checkCachedResults(t: Test, ws: ExcelJS.Worksheet, budget: RigBudget): void {
  budget.cameras.forEach((camera, i) => {
    const row = XLSX_LAYOUT.firstCameraRow + i
    t.equal(ws.getCell(`A${row}`).value, camera.name)
    for (const [column, pick] of COMPUTED) {
      const v = ws.getCell(`${column}${row}`).value
      t.ok(isFormula(v), `${column}${row} is a formula, not a constant`)
      t.equal((v as Formula).result, pick(camera) ?? 'not measured', `${column}${row} cached result (${camera.name})`)
    }
  })
  const totalRow = XLSX_LAYOUT.firstCameraRow + budget.cameras.length
  for (const [column, pick] of TOTALS) {
    const v = ws.getCell(`${column}${totalRow}`).value as Formula
    t.match(v.formula, new RegExp(`SUM\\(${column}${XLSX_LAYOUT.firstCameraRow}:${column}${totalRow - 1}\\)`), `${column}${totalRow} sums the cameras`)
    t.equal(v.result, pick(budget), `${column}${totalRow} cached total`)
  }
  const summary = [budget.totals.memory_mb, budget.totals.cpu_share, budget.totals.memory_bandwidth_headroom]
  summary.forEach((expected, i) => t.equal((ws.getCell(`B${totalRow + 2 + i}`).value as Formula).result, expected))
}

const MIXED: CameraBudgetInput[] = [
  { name: 'front', width: 1920, height: 1080, fps: 30, codec: 'h264' },
  { name: 'rear', width: 1280, height: 720, fps: 25, codec: 'hevc', depth: 3, bitrateMbps: 4 },
  { name: 'odd', width: 1366, height: 768, fps: 15, pixFmt: 'gray' },
  { name: 'usb', width: 640, height: 480, fps: 30, codec: 'mjpeg', motion: false },
]

t.test('written and read back: formulas in every computed cell, cached results as computeRigBudget gives them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'heart-xlsx-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const budget = computeRigBudget(MIXED, { record: true, cores: 2 })
  const file = join(dir, 'rig.xlsx')
  await writeRigBudgetXlsx(budget, file)
  const workbook = new ExcelJS.Workbook()
  await workbook.xlsx.readFile(file)
  const ws = workbook.getWorksheet(XLSX_LAYOUT.sheet)!
  checkCachedResults(t, ws, budget)
  const row = XLSX_LAYOUT.firstCameraRow
  // The formulas reference the row's inputs and the rig's, not copies of their values.
  t.equal((ws.getCell(`O${row}`).value as Formula).formula, `ROUND(B${row}*C${row}*E${row},0)`)
  t.equal((ws.getCell(`P${row}`).value as Formula).formula, `(G${row}+J${row})*(H${row}+I${row})+2`)
  t.match((ws.getCell(`R${row}`).value as Formula).formula, `K${row}*1000000/8*(M${row}+2+$B$6*L${row})`)
  t.match((ws.getCell(`T${row}`).value as Formula).formula, `$B$6*K${row}`)
  t.match((ws.getCell(`U${row}`).value as Formula).formula, /VLOOKUP\(F17,\$A\$9:\$B\$12,2,FALSE\).*N17\*\$B\$13/)
  t.equal((ws.getCell(`U${row + 3}`).value as Formula).result, 'not measured', 'MJPEG: no CPU guess')
})

t.test('the formulas compute what computeRigBudget does, also after an input changes', async (t) => {
  const budget = computeRigBudget(MIXED, { record: true, cores: 2 })
  const ws = rigBudgetWorkbook(budget).getWorksheet(XLSX_LAYOUT.sheet)!
  const evaluate = evaluator(ws)
  const totalRow = XLSX_LAYOUT.firstCameraRow + MIXED.length
  const check = (expected: RigBudget, what: string): void => {
    expected.cameras.forEach((camera, i) => {
      for (const [column, pick] of COMPUTED) t.equal(evaluate(`${column}${XLSX_LAYOUT.firstCameraRow + i}`), pick(camera) ?? 'not measured', `${what}: ${column} of ${camera.name}`)
    })
    for (const [column, pick] of TOTALS) t.equal(evaluate(`${column}${totalRow}`), pick(expected), `${what}: total ${column}`)
  }
  check(budget, 'as written')
  // The operator raises the front camera to 60 fps and depth 4 and stops recording.
  const front = XLSX_LAYOUT.firstCameraRow
  ws.getCell(`D${front}`).value = 60
  ws.getCell(`H${front}`).value = 4
  ws.getCell(XLSX_LAYOUT.record).value = 0
  const bitrate = budget.cameras[0]!.config.bitrateMbps
  const changed = computeRigBudget([{ ...MIXED[0]!, fps: 60, depth: 4, bitrateMbps: bitrate }, ...MIXED.slice(1)], { record: false, cores: 2 })
  check(changed, 'front at 60 fps, depth 4, not recording')
})

t.test('the committed spreadsheet is the standard rig\'s (regenerate: pnpm -s heart budget --cameras 4 --fps 30 --record --cores 2 --xlsx docs/planning/camera_ingest_budget.xlsx)', async (t) => {
  t.same(STANDARD_RIG_ARGS, ['--cameras', '4', '--fps', '30', '--record', '--cores', '2'], 'the command in the test name and the docs')
  const { rig } = parseBudgetArgs(STANDARD_RIG_ARGS)
  const budget = computeRigBudget(rig!.cameras, rig!.options)
  const workbook = new ExcelJS.Workbook()
  await workbook.xlsx.readFile(new URL('../../../docs/planning/camera_ingest_budget.xlsx', import.meta.url).pathname)
  const ws = workbook.getWorksheet(XLSX_LAYOUT.sheet)!
  t.equal(budget.cameras.length, 4)
  checkCachedResults(t, ws, budget)
})
