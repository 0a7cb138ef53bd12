// Separable sliding-window filters on small grids. Both run in O(cells)
// whatever the radius, and write into caller-owned scratch (no allocation).

/**
 * Box blur of radius r (a (2r+1)² mean) with edge replication.
 * `tmp` holds horizontal sums (at least w*h entries).
 */
export function boxBlur(src: Uint8Array, w: number, h: number, r: number, tmp: Uint16Array, dst: Uint8Array): void {
  if (r <= 0) {
    dst.set(src.subarray(0, w * h))
    return
  }
  const last = w - 1
  for (let y = 0; y < h; y++) {
    const row = y * w
    let s = 0
    for (let k = -r; k <= r; k++) s += src[row + clamp(k, last)]!
    for (let x = 0; x < w; x++) {
      tmp[row + x] = s
      s += src[row + clamp(x + r + 1, last)]! - src[row + clamp(x - r, last)]!
    }
  }
  const n = (2 * r + 1) * (2 * r + 1)
  const mul = Math.round(65536 / n)
  const lastY = h - 1
  for (let x = 0; x < w; x++) {
    let s = 0
    for (let k = -r; k <= r; k++) s += tmp[clamp(k, lastY) * w + x]!
    for (let y = 0; y < h; y++) {
      dst[y * w + x] = (s * mul + 32768) >>> 16
      s += tmp[clamp(y + r + 1, lastY) * w + x]! - tmp[clamp(y - r, lastY) * w + x]!
    }
  }
}

/**
 * Binary dilation of a 0/1 mask by a (2r+1)² square: a cell is set when any
 * set cell lies within r in both axes. `tmp` is w*h scratch.
 */
export function dilate(src: Uint8Array, w: number, h: number, r: number, tmp: Uint8Array, dst: Uint8Array): void {
  if (r <= 0) {
    dst.set(src.subarray(0, w * h))
    return
  }
  for (let y = 0; y < h; y++) {
    const row = y * w
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
  for (let x = 0; x < w; x++) {
    let c = 0
    for (let k = 0; k <= r && k < h; k++) c += tmp[k * w + x]!
    for (let y = 0; y < h; y++) {
      dst[y * w + x] = c > 0 ? 1 : 0
      const add = y + r + 1
      const sub = y - r
      if (add < h) c += tmp[add * w + x]!
      if (sub >= 0) c -= tmp[sub * w + x]!
    }
  }
}

function clamp(i: number, last: number): number {
  return i < 0 ? 0 : i > last ? last : i
}
