// Shared-memory hand-off of sampled frames' trace context between threads.
// One writer (the producer) per table; readers in any thread. Each slot is a
// seqlock so a reader never mixes the ids of two frames.

import type { SharedBlock } from '@heart/ring'
import { attachEntryBlock, createEntryBlock, type EntryArray } from './entry-block.js'
import {
  TRACE_SLOT_FLAGS_WORD,
  TRACE_SLOT_LOCK_WORD,
  TRACE_SLOT_SEQ_HIGH_WORD,
  TRACE_SLOT_SEQ_LOW_WORD,
  TRACE_SLOT_SPAN_ID_WORD,
  TRACE_SLOT_TRACE_ID_WORD,
  TRACE_SLOT_WORDS,
  TRACE_TABLE_LAYOUT,
} from './layout.js'

const TWO_POW_32 = 4294967296

/** A frame's trace context as read from the table. */
export interface FrameTraceContext {
  traceId: string
  spanId: string
  traceFlags: number
}

const SLOT_BYTES = TRACE_SLOT_WORDS * 4
/** Int32 index of slot 0: the slots are the block's tail. */
const SLOTS_WORD = TRACE_TABLE_LAYOUT.tailOffset / 4
const SLOTS: EntryArray<never, never, never> = { layout: TRACE_TABLE_LAYOUT, entryBytes: SLOT_BYTES, entries: 'slots' }

export class TraceTable {
  readonly buffer: SharedArrayBuffer
  readonly slots: number
  private readonly words: Int32Array

  private constructor(block: SharedBlock<never, never, never>) {
    this.buffer = block.buffer
    this.slots = block.tailBytes / SLOT_BYTES
    this.words = block.i32
  }

  /**
   * @param slots how many sampled frames can be in flight at once; with 1 in N
   * sampling a consumer may lag slots * N frames before its lookups miss.
   */
  static create(slots = 64): TraceTable {
    return new TraceTable(createEntryBlock(SLOTS, slots))
  }

  static attach(buffer: SharedArrayBuffer): TraceTable {
    return new TraceTable(attachEntryBlock(SLOTS, buffer))
  }

  /** Producer: publishes the trace context of frame `seq` (hex ids, as OpenTelemetry gives them). */
  write(seq: number, traceId: string, spanId: string, traceFlags: number): void {
    const base = this.slotBase(seq)
    const w = this.words
    Atomics.add(w, base + TRACE_SLOT_LOCK_WORD, 1)
    const stored = seq + 1
    Atomics.store(w, base + TRACE_SLOT_SEQ_LOW_WORD, (stored % TWO_POW_32) | 0)
    Atomics.store(w, base + TRACE_SLOT_SEQ_HIGH_WORD, Math.floor(stored / TWO_POW_32) | 0)
    Atomics.store(w, base + TRACE_SLOT_FLAGS_WORD, traceFlags)
    for (let i = 0; i < 4; i++) Atomics.store(w, base + TRACE_SLOT_TRACE_ID_WORD + i, parseInt(traceId.slice(i * 8, i * 8 + 8), 16) | 0)
    for (let i = 0; i < 2; i++) Atomics.store(w, base + TRACE_SLOT_SPAN_ID_WORD + i, parseInt(spanId.slice(i * 8, i * 8 + 8), 16) | 0)
    Atomics.add(w, base + TRACE_SLOT_LOCK_WORD, 1)
  }

  /**
   * Consumer hot path: is frame `seq` sampled? One atomic load and a compare,
   * no allocation, for the (vast majority of) frames that are not.
   */
  has(seq: number): boolean {
    const base = this.slotBase(seq)
    return (Atomics.load(this.words, base + TRACE_SLOT_SEQ_LOW_WORD) >>> 0) === (seq + 1) % TWO_POW_32 && this.seqMatches(base, seq)
  }

  /** The trace context of frame `seq`, or null if it was not sampled (or its slot was reused). */
  read(seq: number): FrameTraceContext | null {
    if (!this.has(seq)) return null
    const base = this.slotBase(seq)
    const w = this.words
    for (let attempt = 0; attempt < 100; attempt++) {
      const lock = Atomics.load(w, base + TRACE_SLOT_LOCK_WORD)
      if ((lock & 1) !== 0) continue
      if (!this.seqMatches(base, seq)) return null
      let traceId = ''
      for (let i = 0; i < 4; i++) traceId += hex8(Atomics.load(w, base + TRACE_SLOT_TRACE_ID_WORD + i))
      let spanId = ''
      for (let i = 0; i < 2; i++) spanId += hex8(Atomics.load(w, base + TRACE_SLOT_SPAN_ID_WORD + i))
      const traceFlags = Atomics.load(w, base + TRACE_SLOT_FLAGS_WORD)
      if (Atomics.load(w, base + TRACE_SLOT_LOCK_WORD) === lock) return { traceId, spanId, traceFlags }
    }
    return null
  }

  private seqMatches(base: number, seq: number): boolean {
    const stored = seq + 1
    return (
      (Atomics.load(this.words, base + TRACE_SLOT_SEQ_LOW_WORD) >>> 0) === stored % TWO_POW_32 &&
      (Atomics.load(this.words, base + TRACE_SLOT_SEQ_HIGH_WORD) >>> 0) === Math.floor(stored / TWO_POW_32)
    )
  }

  private slotBase(seq: number): number {
    return SLOTS_WORD + (seq % this.slots) * TRACE_SLOT_WORDS
  }
}

function hex8(word: number): string {
  return (word >>> 0).toString(16).padStart(8, '0')
}
