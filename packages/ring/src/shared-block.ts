// One helper for heart's small shared-memory blocks (everything that is not
// the frame ring): the capture and thermal health blocks, the stream's JPEG
// share, telemetry's buffers. Each block is a SharedArrayBuffer one thread
// creates and others attach to; this module owns what they have in common so
// each block only names its fields:
//
//   [header: magic, version, generation, byte length][named Int32 words]
//   [named Float64 slots][named length-prefixed UTF-8 strings][tail bytes]
//
// - magic and version: attach() refuses a buffer of another kind or of another
//   build's layout by name, instead of reading garbage;
// - named fields: offsets are computed once from the declaration, so the
//   writer and the reader cannot disagree and nobody counts bytes by hand;
// - a seqlock: the writer makes a generation word odd, writes, makes it even;
//   a reader keeps what it read only if the word was even and unchanged
//   around its reads. The writer never waits and never allocates (these
//   blocks are written per frame); readers retry.
//
// The tail is for a block's own variable-size region (JPEG slots, histogram
// buckets), whose size is fixed at create() and recorded in the header.
import { RingError } from './errors.js'

/** Int32 words of every block's header (for tests that forge or damage a header). */
export const SHARED_BLOCK_HEADER = Object.freeze({
  magic: 0,
  version: 1,
  /** The block's own seqlock generation word: odd while its writer writes; 0 until the first write. */
  generation: 2,
  byteLength: 3,
})
const HEADER_MAGIC = SHARED_BLOCK_HEADER.magic
const HEADER_VERSION = SHARED_BLOCK_HEADER.version
const HEADER_GENERATION = SHARED_BLOCK_HEADER.generation
const HEADER_BYTE_LENGTH = SHARED_BLOCK_HEADER.byteLength
const HEADER_WORDS = 4

/** A UTF-8 string field: a u32 byte length, then up to `capacity` bytes. */
export interface SharedStringField {
  readonly offset: number
  readonly capacity: number
}

export interface SharedBlockSpec<I extends string, F extends string, S extends string> {
  /** What the block is, for error messages ("capture health block"). */
  name: string
  /** Four ASCII characters as a u32, unique per kind of block. */
  magic: number
  /** Bump whenever the declaration changes: threads of two builds must not share a block. */
  version: number
  /** Int32 words, in order (Atomics-capable: counters, states, generations of sub-regions). */
  i32?: readonly I[]
  /** Float64 slots, in order. */
  f64?: readonly F[]
  /** String fields and their capacity in bytes (longer text is cut on a character boundary). */
  strings?: Readonly<Record<S, number>>
  /** How a refused attach is reported (default: a RingError with code RING_SHARED_BLOCK_MISMATCH). */
  refuse?: (problem: string) => Error
}

/** Where every field of a block lives; made once by defineSharedBlock(). */
export interface SharedBlockLayout<I extends string = string, F extends string = string, S extends string = string> {
  readonly name: string
  readonly magic: number
  readonly version: number
  /** Index of each Int32 word in an Int32Array over the whole buffer. */
  readonly i32: Readonly<Record<I, number>>
  /** Index of each Float64 slot in a Float64Array over the whole buffer. */
  readonly f64: Readonly<Record<F, number>>
  readonly strings: Readonly<Record<S, SharedStringField>>
  /** Byte offset of the tail (8-aligned): the end of the named fields. */
  readonly tailOffset: number
  readonly refuse: (problem: string) => Error
}

/** Computes the offsets of a block's named fields (once, at module load). */
export function defineSharedBlock<I extends string = never, F extends string = never, S extends string = never>(
  spec: SharedBlockSpec<I, F, S>,
): SharedBlockLayout<I, F, S> {
  if (!Number.isInteger(spec.magic) || spec.magic === 0) throw new RangeError(`${spec.name}: magic must be a non-zero u32`)
  const i32Names = spec.i32 ?? []
  const f64Names = spec.f64 ?? []
  const i32 = indexes(spec.name, i32Names, HEADER_WORDS)
  const i32End = (HEADER_WORDS + i32Names.length) * 4
  const f64Base = Math.ceil(i32End / 8)
  const f64 = indexes(spec.name, f64Names, f64Base)
  let offset = (f64Base + f64Names.length) * 8
  const strings = {} as Record<S, SharedStringField>
  for (const [name, capacity] of Object.entries(spec.strings ?? {}) as [S, number][]) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`${spec.name}: string field ${name} needs a positive capacity`)
    strings[name] = Object.freeze({ offset, capacity })
    offset += Math.ceil((4 + capacity) / 4) * 4
  }
  const refuse = spec.refuse ?? ((problem: string) => new RingError('RING_SHARED_BLOCK_MISMATCH', `${spec.name}: ${problem}`))
  return Object.freeze({
    name: spec.name,
    magic: spec.magic >>> 0,
    version: spec.version,
    i32: Object.freeze(i32),
    f64: Object.freeze(f64),
    strings: Object.freeze(strings),
    tailOffset: Math.ceil(offset / 8) * 8,
    refuse,
  })
}

function indexes<N extends string>(block: string, names: readonly N[], base: number): Record<N, number> {
  const out = {} as Record<N, number>
  names.forEach((name, i) => {
    if (name in out) throw new RangeError(`${block}: field ${name} is declared twice`)
    out[name] = base + i
  })
  return out
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A block created here or attached to: typed views over the buffer plus the seqlock. */
export class SharedBlock<I extends string = string, F extends string = string, S extends string = string> {
  readonly i32: Int32Array
  readonly f64: Float64Array
  readonly u8: Uint8Array
  private readonly data: DataView

  private constructor(readonly layout: SharedBlockLayout<I, F, S>, readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2)
    this.f64 = new Float64Array(buffer, 0, buffer.byteLength >> 3)
    this.u8 = new Uint8Array(buffer)
    this.data = new DataView(buffer)
  }

  /** A new zeroed block with `tailBytes` of room after the named fields. */
  static create<I extends string, F extends string, S extends string>(layout: SharedBlockLayout<I, F, S>, tailBytes = 0): SharedBlock<I, F, S> {
    if (!Number.isInteger(tailBytes) || tailBytes < 0) throw new RangeError(`${layout.name}: tailBytes must be a non-negative integer`)
    const byteLength = layout.tailOffset + Math.ceil(tailBytes / 8) * 8
    const buffer = new SharedArrayBuffer(byteLength)
    const i32 = new Int32Array(buffer)
    i32[HEADER_VERSION] = layout.version
    i32[HEADER_BYTE_LENGTH] = byteLength
    // The magic last: a block is recognisable only once its header is complete.
    Atomics.store(i32, HEADER_MAGIC, layout.magic | 0)
    return new SharedBlock(layout, buffer)
  }

  /** Attaches to a block created by another thread; refuses anything that is not this kind and version of block. */
  static attach<I extends string, F extends string, S extends string>(layout: SharedBlockLayout<I, F, S>, buffer: unknown): SharedBlock<I, F, S> {
    if (!(buffer instanceof SharedArrayBuffer)) throw layout.refuse(`not a SharedArrayBuffer (got ${describe(buffer)})`)
    if (buffer.byteLength < HEADER_WORDS * 4) throw layout.refuse(`only ${buffer.byteLength} bytes, every block has at least ${HEADER_WORDS * 4} bytes (its header)`)
    if (buffer.byteLength < layout.tailOffset) {
      throw layout.refuse(`only ${buffer.byteLength} bytes, a block of this kind has at least ${layout.tailOffset}`)
    }
    const i32 = new Int32Array(buffer, 0, HEADER_WORDS)
    const magic = Atomics.load(i32, HEADER_MAGIC) >>> 0
    if (magic !== layout.magic) throw layout.refuse(`wrong magic 0x${hex(magic)} (expected 0x${hex(layout.magic)}): this buffer is another kind of block`)
    const version = i32[HEADER_VERSION]!
    if (version !== layout.version) {
      throw layout.refuse(`layout version ${version}, this build reads version ${layout.version}; every thread must run the same build`)
    }
    if (i32[HEADER_BYTE_LENGTH] !== buffer.byteLength) throw layout.refuse(`length does not match its header (${buffer.byteLength} bytes, the header says ${i32[HEADER_BYTE_LENGTH]})`)
    return new SharedBlock(layout, buffer)
  }

  /** Bytes after the named fields (the block's own variable-size region). */
  get tailBytes(): number {
    return this.buffer.byteLength - this.layout.tailOffset
  }

  /**
   * Writer side (one writer per generation word): readers discard what they
   * read until endWrite(). `word` is the generation word, the block's own by
   * default or a named Int32 word guarding a sub-region.
   */
  beginWrite(word: number = HEADER_GENERATION): void {
    // A writer that died mid-write (a crashed worker) left the word odd: step
    // past it, so the value still changes and stays odd while we write.
    const generation = Atomics.load(this.i32, word)
    Atomics.store(this.i32, word, (generation & 1) === 1 ? (generation + 2) | 0 : (generation + 1) | 0)
  }

  endWrite(word: number = HEADER_GENERATION): void {
    Atomics.add(this.i32, word, 1)
  }

  /** True once a write completed (or began): for readers that report "nothing yet". */
  written(word: number = HEADER_GENERATION): boolean {
    return Atomics.load(this.i32, word) !== 0
  }

  /**
   * Reader side: runs `read` until it ran entirely between two writes, and
   * returns its result, or null when the writer lapped every one of
   * `attempts` tries (a writer stuck mid-write, or reads slower than writes).
   * `read` must only read: it may run several times.
   */
  snapshot<T>(read: (block: this) => T, attempts = 1000, word: number = HEADER_GENERATION): T | null {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const before = Atomics.load(this.i32, word)
      if ((before & 1) === 1) continue
      const result = read(this)
      if (Atomics.load(this.i32, word) === before) return result
    }
    return null
  }

  /** Writes `text` into a string field (call between beginWrite and endWrite). */
  writeString(field: S, text: string): void {
    const { offset, capacity } = this.layout.strings[field]
    const target = this.u8.subarray(offset + 4, offset + 4 + capacity)
    // encodeInto writes whole characters only, so a cut never splits a code point; no allocation.
    const { written } = encoder.encodeInto(text, target)
    this.data.setUint32(offset, written, true)
  }

  /** Reads a string field (inside a snapshot for a consistent value). */
  readString(field: S): string {
    const { offset, capacity } = this.layout.strings[field]
    const length = Math.min(capacity, this.data.getUint32(offset, true))
    // Copy out of shared memory first: TextDecoder refuses SharedArrayBuffer views.
    return decoder.decode(this.u8.slice(offset + 4, offset + 4 + length))
  }
}

/** The block type of a layout: `SharedBlockOf<typeof myLayout>`. */
export type SharedBlockOf<L> = L extends SharedBlockLayout<infer I, infer F, infer S> ? SharedBlock<I, F, S> : never

function hex(n: number): string {
  return n.toString(16).padStart(8, '0')
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return value.constructor?.name ?? 'an object'
  return typeof value
}
