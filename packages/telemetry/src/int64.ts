// Unsigned 64-bit counters kept as two u32 words in an Int32Array.
//
// Why not BigInt64Array + Atomics.add? Every call would need a BigInt operand
// (BigInt(n) allocates for anything but a cached literal) and Atomics.add
// returns the old value as a freshly allocated BigInt. The hot paths here run
// per frame in several threads, and issue 6 caps telemetry at 3 % CPU, so we
// keep to Int32 atomics, which V8 compiles to a single `lock xadd` and whose
// results are small integers (no heap allocation).
//
// The price: a reader can race a carry. When the low word wraps, the writer
// bumps the high word one instruction later; a reader that lands in between
// sees the total 2^32 too small for a moment. read64 re-reads the high word to
// catch a carry that already happened, and MonotonicReader hides the rest for
// counters (they never go down). A wrap takes 2^32 increments: 2.2 years of
// frames at 60 FPS.

const TWO_POW_32 = 4294967296

/** Adds a whole number 0 <= n < 2^53 to the u64 at [low, low + 1]. */
export function add64(words: Int32Array, low: number, n: number): void {
  if (n < TWO_POW_32) {
    const old = Atomics.add(words, low, n | 0) >>> 0
    if (old + n >= TWO_POW_32) Atomics.add(words, low + 1, 1)
    return
  }
  const lowPart = n % TWO_POW_32
  const highPart = (n - lowPart) / TWO_POW_32
  const old = Atomics.add(words, low, lowPart | 0) >>> 0
  Atomics.add(words, low + 1, (old + lowPart >= TWO_POW_32 ? highPart + 1 : highPart) | 0)
}

/** Reads the u64 at [low, low + 1] as a number (exact below 2^53). */
export function read64(words: Int32Array, low: number): number {
  for (;;) {
    const high = Atomics.load(words, low + 1)
    const lowValue = Atomics.load(words, low) >>> 0
    if (Atomics.load(words, low + 1) === high) return (high >>> 0) * TWO_POW_32 + lowValue
  }
}

export function store64(words: Int32Array, low: number, value: number): void {
  const lowPart = value % TWO_POW_32
  Atomics.store(words, low, lowPart | 0)
  Atomics.store(words, low + 1, ((value - lowPart) / TWO_POW_32) | 0)
}
