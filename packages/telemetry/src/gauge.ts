// A float64 gauge guarded by a seqlock: one writer (set) and any number of
// readers in any thread. A float64 store is not atomic in the JS memory model,
// so the writer makes the sequence word odd while it writes; readers retry
// when they see an odd or changed sequence, so a read never returns a torn value.

import { GAUGE_BYTES, GAUGE_SEQ_WORD, GAUGE_VALUE_BYTE_OFFSET } from './layout.js'

// A reader that keeps losing to the writer this many times gives up waiting
// and returns what it read; the writer would have to set() in a tight loop.
const MAX_READ_ATTEMPTS = 1000

export class Gauge {
  private readonly words: Int32Array
  private readonly value64: Float64Array

  constructor(buffer: ArrayBufferLike, byteOffset: number) {
    this.words = new Int32Array(buffer, byteOffset, GAUGE_BYTES / 4)
    this.value64 = new Float64Array(buffer, byteOffset + GAUGE_VALUE_BYTE_OFFSET, 1)
  }

  /** Hot path: sets the value. Allocation-free. One writer per gauge. */
  set(value: number): void {
    Atomics.add(this.words, GAUGE_SEQ_WORD, 1) // odd: write in progress
    this.value64[0] = value
    Atomics.add(this.words, GAUGE_SEQ_WORD, 1) // even: stable
  }

  /** The last value set (0 before any set). */
  value(): number {
    let v = 0
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      const before = Atomics.load(this.words, GAUGE_SEQ_WORD)
      v = this.value64[0]!
      if ((before & 1) === 0 && Atomics.load(this.words, GAUGE_SEQ_WORD) === before) return v
    }
    return v
  }
}
