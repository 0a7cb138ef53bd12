// A monotonic u64 counter over two Int32 words (see int64.ts for why not BigInt).

import { add64, read64 } from './int64.js'
import { badCounterIncrement } from './errors.js'
import { COUNTER_BYTES, COUNTER_LOW_WORD } from './layout.js'

export class Counter {
  private readonly words: Int32Array
  // What this handle last returned: hides the brief "carry not yet applied"
  // dip a reader can observe while another thread wraps the low word.
  private lastRead = 0

  constructor(buffer: ArrayBufferLike, byteOffset: number) {
    this.words = new Int32Array(buffer, byteOffset, COUNTER_BYTES / 4)
  }

  /** Hot path: adds a whole number (default 1). Allocation-free, one atomic add. */
  add(n = 1): void {
    // One comparison rejects negatives, NaN and fractions cheaply enough.
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) throw badCounterIncrement(n)
    add64(this.words, COUNTER_LOW_WORD, n)
  }

  /** The total so far, exact below 2^53. Never goes down as seen from this handle. */
  value(): number {
    const v = read64(this.words, COUNTER_LOW_WORD)
    if (v < this.lastRead) return this.lastRead
    this.lastRead = v
    return v
  }
}
