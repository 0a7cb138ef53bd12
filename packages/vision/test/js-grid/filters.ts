// Separable sliding-window filters on small grids. Both run in O(cells)
// whatever the radius, walk memory row by row (the vertical pass keeps a
// running sum per column instead of walking down columns), and write into
// caller-owned scratch: no allocation.

/**
 * Box blur of radius r (a (2r+1)² mean) with edge replication.
 * `tmp` holds horizontal sums (w*h entries); `col` holds running column sums (w entries).
 * The source may be a padded plane (srcOffset, srcStride); `dst` is w*h, packed.
 */
export function boxBlur(
  src: Uint8Array,
  w: number,
  h: number,
  r: number,
  tmp: Uint16Array,
  col: Uint32Array,
  dst: Uint8Array,
  srcOffset = 0,
  srcStride = w,
): void {
  if (r <= 0) {
    for (let y = 0, i = 0; y < h; y++) for (let x = 0, p = srcOffset + y * srcStride; x < w; x++) dst[i++] = src[p++]!
    return
  }
  const last = w - 1
  for (let y = 0; y < h; y++) {
    const row = srcOffset + y * srcStride
    const out = y * w
    let s = 0
    for (let k = -r; k <= r; k++) s += src[row + (k < 0 ? 0 : k > last ? last : k)]!
    // Edges replicate the border pixel.
    for (let x = 0; x < w; x++) {
      tmp[out + x] = s
      const add = x + r + 1
      const sub = x - r
      s += src[row + (add > last ? last : add)]! - src[row + (sub < 0 ? 0 : sub)]!
    }
  }
  const n = (2 * r + 1) * (2 * r + 1)
  const mul = Math.round(65536 / n)
  const lastY = h - 1
  col.fill(0, 0, w)
  for (let k = -r; k <= r; k++) {
    const row = (k < 0 ? 0 : k > lastY ? lastY : k) * w
    for (let x = 0; x < w; x++) col[x]! += tmp[row + x]!
  }
  for (let y = 0; y < h; y++) {
    const out = y * w
    const add = (y + r + 1 > lastY ? lastY : y + r + 1) * w
    const sub = (y - r < 0 ? 0 : y - r) * w
    for (let x = 0; x < w; x++) {
      const s = col[x]!
      dst[out + x] = (s * mul + 32768) >>> 16
      col[x] = s + tmp[add + x]! - tmp[sub + x]!
    }
  }
}

/**
 * Binary dilation of a 0/1 mask by a (2r+1)² square: a cell is set when any
 * set cell lies within r in both axes. `tmp` is w*h scratch, `col` w entries.
 * Rows with no set cell nearby are cleared in bulk, so sparse motion is
 * cheap; `srcRows` (set cells per source row) lets the first pass skip empty
 * rows too, and `dstRows` receives 1 for each output row with a set cell.
 * (TypedArray indexOf was tried for finding empty rows: it is slow in V8.)
 */
export function dilate(
  src: Uint8Array,
  w: number,
  h: number,
  r: number,
  tmp: Uint8Array,
  col: Uint32Array,
  dst: Uint8Array,
  srcRows?: Int32Array,
  dstRows?: Uint8Array,
): void {
  if (r <= 0) {
    for (let i = 0, n = w * h; i < n; i++) dst[i] = src[i]!
    if (dstRows && srcRows) for (let y = 0; y < h; y++) dstRows[y] = srcRows[y]! > 0 ? 1 : 0
    return
  }
  for (let y = 0; y < h; y++) {
    const row = y * w
    // Rows known to be empty (srcRows: set cells per row) are cleared in bulk.
    if (srcRows !== undefined && srcRows[y] === 0) {
      tmp.fill(0, row, row + w)
      continue
    }
    // Count of set cells in the window [x - r, x + r], clipped to the row.
    let c = 0
    for (let k = 0; k <= r && k < w; k++) c += src[row + k]!
    for (let x = 0; x < w; x++) {
      tmp[row + x] = c > 0 ? 1 : 0
      const add = x + r + 1
      const sub = x - r
      if (add < w) c += src[row + add]!
      if (sub >= 0) c -= src[row + sub]!
    }
  }
  col.fill(0, 0, w)
  let rowsSet = 0 // set cells in the rows of the current vertical window
  for (let k = 0; k <= r && k < h; k++) {
    const row = k * w
    for (let x = 0; x < w; x++) {
      const v = tmp[row + x]!
      col[x]! += v
      rowsSet += v
    }
  }
  for (let y = 0; y < h; y++) {
    const out = y * w
    if (rowsSet === 0) dst.fill(0, out, out + w)
    else for (let x = 0; x < w; x++) dst[out + x] = col[x]! > 0 ? 1 : 0
    if (dstRows !== undefined) dstRows[y] = rowsSet > 0 ? 1 : 0
    const add = y + r + 1
    const sub = y - r
    if (add < h) {
      const row = add * w
      for (let x = 0; x < w; x++) {
        const v = tmp[row + x]!
        col[x]! += v
        rowsSet += v
      }
    }
    if (sub >= 0) {
      const row = sub * w
      for (let x = 0; x < w; x++) {
        const v = tmp[row + x]!
        col[x]! -= v
        rowsSet -= v
      }
    }
  }
}
