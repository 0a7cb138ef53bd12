// Integer-factor block averaging of a luma plane. Motion only needs a coarse
// picture, and averaging f×f blocks both shrinks the work for every later
// stage by f² and suppresses sensor noise, so it is the first stage.

/**
 * Averages f×f blocks of `src` (a plane at `offset` with row pitch `stride`)
 * into `dst`, which is gw×gh (gw = floor(width / f), gh = floor(height / f)).
 * `rowAcc` is scratch of at least gw entries. Allocation-free.
 */
export function downscaleAverage(
  src: Uint8Array,
  offset: number,
  stride: number,
  f: number,
  gw: number,
  gh: number,
  rowAcc: Uint32Array,
  dst: Uint8Array,
): void {
  // (sum * mul) >>> 16 divides by f² with rounding and stays below 2^24.
  const mul = Math.round(65536 / (f * f))
  const half = 32768
  if (f === 1) {
    for (let y = 0; y < gh; y++) {
      const s = offset + y * stride
      dst.set(src.subarray(s, s + gw), y * gw)
    }
    return
  }
  for (let gy = 0; gy < gh; gy++) {
    rowAcc.fill(0, 0, gw)
    let rowStart = offset + gy * f * stride
    for (let k = 0; k < f; k++, rowStart += stride) {
      // Unrolled for the factors the auto choice produces; V8 does not unroll
      // the inner loop by itself and it dominates the detector's cost. (A
      // SWAR variant adding four pixels per 32-bit load measured slower.)
      if (f === 2) sumRow2(src, rowStart, gw, rowAcc)
      else if (f === 4) sumRow4(src, rowStart, gw, rowAcc)
      else if (f === 6) sumRow6(src, rowStart, gw, rowAcc)
      else if (f === 8) sumRow8(src, rowStart, gw, rowAcc)
      else sumRowN(src, rowStart, gw, f, rowAcc)
    }
    const out = gy * gw
    for (let gx = 0; gx < gw; gx++) dst[out + gx] = (rowAcc[gx]! * mul + half) >>> 16
  }
}

function sumRow2(src: Uint8Array, p: number, gw: number, acc: Uint32Array): void {
  for (let gx = 0; gx < gw; gx++, p += 2) acc[gx]! += src[p]! + src[p + 1]!
}
function sumRow4(src: Uint8Array, p: number, gw: number, acc: Uint32Array): void {
  for (let gx = 0; gx < gw; gx++, p += 4) acc[gx]! += src[p]! + src[p + 1]! + src[p + 2]! + src[p + 3]!
}
function sumRow6(src: Uint8Array, p: number, gw: number, acc: Uint32Array): void {
  for (let gx = 0; gx < gw; gx++, p += 6) {
    acc[gx]! += src[p]! + src[p + 1]! + src[p + 2]! + src[p + 3]! + src[p + 4]! + src[p + 5]!
  }
}
function sumRow8(src: Uint8Array, p: number, gw: number, acc: Uint32Array): void {
  for (let gx = 0; gx < gw; gx++, p += 8) {
    acc[gx]! +=
      src[p]! + src[p + 1]! + src[p + 2]! + src[p + 3]! + src[p + 4]! + src[p + 5]! + src[p + 6]! + src[p + 7]!
  }
}
function sumRowN(src: Uint8Array, p: number, gw: number, f: number, acc: Uint32Array): void {
  for (let gx = 0; gx < gw; gx++) {
    let s = 0
    for (let j = 0; j < f; j++) s += src[p++]!
    acc[gx]! += s
  }
}

/**
 * Same result shape as downscaleAverage but reads only every f-th pixel of
 * every f-th row. f² times cheaper, noisier; offered for very large frames.
 */
export function downscaleSample(
  src: Uint8Array,
  offset: number,
  stride: number,
  f: number,
  gw: number,
  gh: number,
  dst: Uint8Array,
): void {
  // Sample the centre of each block rather than its corner, so boxes are not biased up-left.
  const c = f >> 1
  for (let gy = 0; gy < gh; gy++) {
    let p = offset + (gy * f + c) * stride + c
    const out = gy * gw
    for (let gx = 0; gx < gw; gx++, p += f) dst[out + gx] = src[p]!
  }
}

