// Connected regions of a binary grid: classic two-pass labelling with a
// union-find over provisional labels (8-connectivity). All storage is sized
// once per grid so labelling a frame allocates nothing.

/** Bounding boxes and areas of the regions found by the last `label` call, in grid cells. */
export class ConnectedComponents {
  readonly width: number
  readonly height: number
  /** Number of regions found by the last call; their stats are at indices 0..count-1. */
  count = 0
  readonly minX: Int32Array
  readonly minY: Int32Array
  readonly maxX: Int32Array
  readonly maxY: Int32Array
  /** Cells of `weight` (not of `connect`) inside each region. */
  readonly area: Int32Array
  /** Cells of `active` inside each region (when an `active` grid was given). */
  readonly active: Int32Array

  private readonly labels: Int32Array
  private readonly parent: Int32Array
  private readonly regionOf: Int32Array

  constructor(width: number, height: number) {
    this.width = width
    this.height = height
    const n = width * height
    const maxLabels = n + 1
    this.labels = new Int32Array(n)
    this.parent = new Int32Array(maxLabels)
    this.regionOf = new Int32Array(maxLabels)
    this.minX = new Int32Array(maxLabels)
    this.minY = new Int32Array(maxLabels)
    this.maxX = new Int32Array(maxLabels)
    this.maxY = new Int32Array(maxLabels)
    this.area = new Int32Array(maxLabels)
    this.active = new Int32Array(maxLabels)
  }

  /**
   * Regions are the 8-connected components of `connect`; a region's box and
   * area are measured only over its cells that are also set in `weight`.
   * This lets a dilated mask decide what belongs together while the raw mask
   * decides where the region really is (dilation would otherwise grow every
   * box by its radius). A region with no `weight` cells has area 0.
   * `active`, when given, is counted per region too (over `weight` cells).
   * `connectRows` / `weightRows` (0 for a row with no set cell) let empty rows be skipped.
   */
  label(connect: Uint8Array, weight: Uint8Array, active?: Uint8Array, connectRows?: ArrayLike<number>, weightRows?: ArrayLike<number>): number {
    const w = this.width
    const h = this.height
    const labels = this.labels
    const parent = this.parent
    let next = 1
    for (let y = 0; y < h; y++) {
      const row = y * w
      // Motion is sparse: clear rows known to be empty in bulk.
      if (connectRows !== undefined && connectRows[y] === 0) {
        labels.fill(0, row, row + w)
        continue
      }
      for (let x = 0; x < w; x++) {
        const i = row + x
        if (connect[i] === 0) {
          labels[i] = 0
          continue
        }
        // Neighbours already visited: W, NW, N, NE. Cells next to each other
        // were joined when the later of them was labelled, so most cases need
        // no union at all (a decision tree instead of four merges): N touches
        // W, NW and NE; only NE can still be apart from W or NW.
        const n = y > 0 ? labels[i - w]! : 0
        let l: number
        if (n !== 0) {
          l = n
        } else {
          const west = x > 0 ? labels[i - 1]! : 0
          const nw = x > 0 && y > 0 ? labels[i - w - 1]! : 0
          const ne = y > 0 && x < w - 1 ? labels[i - w + 1]! : 0
          const left = west !== 0 ? west : nw
          if (left !== 0) l = ne !== 0 ? this.merge(left, ne) : left
          else if (ne !== 0) l = ne
          else {
            l = next++
            parent[l] = l
          }
        }
        labels[i] = l
      }
    }

    // Give each root a compact region index and reset its stats.
    const regionOf = this.regionOf
    let count = 0
    for (let l = 1; l < next; l++) {
      const root = this.find(l)
      if (root === l) {
        regionOf[l] = count
        this.minX[count] = 0x7fffffff
        this.minY[count] = 0x7fffffff
        this.maxX[count] = -1
        this.maxY[count] = -1
        this.area[count] = 0
        this.active[count] = 0
        count++
      }
    }
    for (let y = 0; y < h; y++) {
      const row = y * w
      if (weightRows !== undefined && weightRows[y] === 0) continue
      for (let x = 0; x < w; x++) {
        const i = row + x
        if (weight[i] === 0) continue
        const l = labels[i]!
        if (l === 0) continue
        const r = regionOf[this.find(l)]!
        this.area[r]!++
        if (active !== undefined && active[i] !== 0) this.active[r]!++
        if (x < this.minX[r]!) this.minX[r] = x
        if (x > this.maxX[r]!) this.maxX[r] = x
        if (y < this.minY[r]!) this.minY[r] = y
        if (y > this.maxY[r]!) this.maxY[r] = y
      }
    }
    this.count = count
    return count
  }

  /** Joins the sets of two provisional labels (both non-zero) and returns the root. */
  private merge(a: number, b: number): number {
    const rb = this.find(b)
    const ra = this.find(a)
    if (ra === rb) return ra
    if (ra < rb) {
      this.parent[rb] = ra
      return ra
    }
    this.parent[ra] = rb
    return rb
  }

  private find(l: number): number {
    const parent = this.parent
    let root = l
    while (parent[root] !== root) root = parent[root]!
    // Path compression keeps later finds O(1) in practice.
    while (parent[l] !== root) {
      const up = parent[l]!
      parent[l] = root
      l = up
    }
    return root
  }
}
