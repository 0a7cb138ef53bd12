import t from 'tap'
import { ConnectedComponents } from './js-grid/components.js'

/** Reference: flood fill with 8-connectivity, regions as sorted "minX,minY,maxX,maxY,area" strings. */
function floodRegions(grid: Uint8Array, w: number, h: number): string[] {
  const seen = new Uint8Array(w * h)
  const out: string[] = []
  for (let start = 0; start < w * h; start++) {
    if (grid[start] === 0 || seen[start] === 1) continue
    let minX = w
    let minY = h
    let maxX = -1
    let maxY = -1
    let area = 0
    const stack = [start]
    seen[start] = 1
    while (stack.length > 0) {
      const i = stack.pop()!
      const x = i % w
      const y = (i - x) / w
      area++
      minX = Math.min(minX, x)
      maxX = Math.max(maxX, x)
      minY = Math.min(minY, y)
      maxY = Math.max(maxY, y)
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx
          const ny = y + dy
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue
          const j = ny * w + nx
          if (grid[j] === 1 && seen[j] === 0) {
            seen[j] = 1
            stack.push(j)
          }
        }
      }
    }
    out.push(`${minX},${minY},${maxX},${maxY},${area}`)
  }
  return out.sort()
}

function labelRegions(cc: ConnectedComponents, grid: Uint8Array): string[] {
  const count = cc.label(grid, grid)
  const out: string[] = []
  for (let k = 0; k < count; k++) out.push(`${cc.minX[k]},${cc.minY[k]},${cc.maxX[k]},${cc.maxY[k]},${cc.area[k]}`)
  return out.sort()
}

t.test('regions match a flood fill on random grids of every density', async (t) => {
  let seed = 99
  const rand = (): number => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 4294967296
  }
  const w = 37
  const h = 23
  const cc = new ConnectedComponents(w, h)
  for (const density of [0.05, 0.2, 0.4, 0.5, 0.6, 0.8, 1]) {
    for (let trial = 0; trial < 20; trial++) {
      const grid = new Uint8Array(w * h)
      for (let i = 0; i < grid.length; i++) grid[i] = rand() < density ? 1 : 0
      const want = floodRegions(grid, w, h)
      const got = labelRegions(cc, grid)
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        t.same(got, want, `density ${density}, trial ${trial}`)
        return
      }
    }
  }
  t.pass('all 140 grids agree with the flood fill')
})

t.test('shapes that need a late union: a U, a W and stripes joined only through NE', async (t) => {
  const cases: Array<{ name: string; rows: string[]; regions: number }> = [
    { name: 'U joined at the bottom', rows: ['#...#', '#...#', '#####'], regions: 1 },
    { name: 'W', rows: ['#.#.#', '#.#.#', '.#.#.'], regions: 1 },
    { name: 'NE diagonal only', rows: ['..#', '.#.', '#..'], regions: 1 },
    { name: 'NW and NE joined through the cell below them', rows: ['#.#', '.#.'], regions: 1 },
    { name: 'two apart', rows: ['#.#', '#.#'], regions: 2 },
  ]
  for (const c of cases) {
    const w = c.rows[0]!.length
    const h = c.rows.length
    const grid = new Uint8Array(w * h)
    c.rows.forEach((r, y) => [...r].forEach((ch, x) => (grid[y * w + x] = ch === '#' ? 1 : 0)))
    const cc = new ConnectedComponents(w, h)
    t.equal(cc.label(grid, grid), c.regions, c.name)
    t.same(labelRegions(cc, grid), floodRegions(grid, w, h), `${c.name}: boxes and areas`)
  }
})
