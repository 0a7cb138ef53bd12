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
    // A plain loop rather than set(subarray()): subarray allocates a view per row.
    for (let y = 0, o = 0; y < gh; y++) {
      for (let x = 0, p = offset + y * stride; x < gw; x++) dst[o++] = src[p++]!
    }
    return
  }
  // Whole-block kernels for the factors the auto choice produces (1280 -> 4,
  // 1920 -> 6, 2560 -> 8): each output sums its f×f block in one expression,
  // which V8 turns into straight loads and adds. About 30 % faster than
  // accumulating rows, and the block average dominates the detector's cost.
  // (A SWAR variant adding four pixels per 32-bit load measured slower.)
  switch (f) {
    case 2:
      for (let gy = 0; gy < gh; gy++) {
        const out = gy * gw
        for (let gx = 0, p = offset + gy * 2 * stride; gx < gw; gx++, p += 2) {
          dst[out + gx] = (src[p]! + src[p + 1]! + src[p + stride]! + src[p + stride + 1]! + 2) >>> 2
        }
      }
      return
    case 4:
      for (let gy = 0; gy < gh; gy++) {
        const out = gy * gw
        for (let gx = 0, p = offset + gy * 4 * stride; gx < gw; gx++, p += 4) {
          const s = sum4(src, p) + sum4(src, p + stride) + sum4(src, p + 2 * stride) + sum4(src, p + 3 * stride)
          dst[out + gx] = (s + 8) >>> 4
        }
      }
      return
    case 6:
      for (let gy = 0; gy < gh; gy++) {
        const out = gy * gw
        for (let gx = 0, p = offset + gy * 6 * stride; gx < gw; gx++, p += 6) {
          const s =
            sum6(src, p) + sum6(src, p + stride) + sum6(src, p + 2 * stride) +
            sum6(src, p + 3 * stride) + sum6(src, p + 4 * stride) + sum6(src, p + 5 * stride)
          dst[out + gx] = (s * mul + half) >>> 16
        }
      }
      return
    case 8:
      for (let gy = 0; gy < gh; gy++) {
        const out = gy * gw
        for (let gx = 0, p = offset + gy * 8 * stride; gx < gw; gx++, p += 8) {
          let s = 0
          for (let k = 0, r = p; k < 8; k++, r += stride) s += sum8(src, r)
          dst[out + gx] = (s + 32) >>> 6
        }
      }
      return
  }
  for (let gy = 0; gy < gh; gy++) {
    rowAcc.fill(0, 0, gw)
    let rowStart = offset + gy * f * stride
    for (let k = 0; k < f; k++, rowStart += stride) {
      let p = rowStart
      for (let gx = 0; gx < gw; gx++) {
        let s = 0
        for (let j = 0; j < f; j++) s += src[p++]!
        rowAcc[gx]! += s
      }
    }
    const out = gy * gw
    for (let gx = 0; gx < gw; gx++) dst[out + gx] = (rowAcc[gx]! * mul + half) >>> 16
  }
}

function sum4(src: Uint8Array, i: number): number {
  return src[i]! + src[i + 1]! + src[i + 2]! + src[i + 3]!
}
function sum6(src: Uint8Array, i: number): number {
  return src[i]! + src[i + 1]! + src[i + 2]! + src[i + 3]! + src[i + 4]! + src[i + 5]!
}
function sum8(src: Uint8Array, i: number): number {
  return src[i]! + src[i + 1]! + src[i + 2]! + src[i + 3]! + src[i + 4]! + src[i + 5]! + src[i + 6]! + src[i + 7]!
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

