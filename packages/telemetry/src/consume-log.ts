// Consumers' side of a sampled frame's trace, without an exporter in every
// thread. Running an OpenTelemetry SDK and exporter per consumer thread for
// one span a second cost about 1.5 ms of CPU a second each (measured; see
// docs/telemetry.md). Instead each consumer writes its `consume` timing into
// this shared log, and the thread that already exports the frame's spans
// (the capture worker) turns the records into spans under the frame's root.
//
// Many writers, one reader. A writer claims a record with Atomics.add on the
// write cursor, fills it, and publishes it by storing its stamp (claim + 1)
// last; the reader takes records in claim order and waits for a stamp that is
// not there yet. The log is sized for seconds of sampled frames; a reader
// that falls a whole log behind skips what was overwritten.

import { defineSharedBlock, type SharedBlock } from '@heart/ring'
import { attachEntryBlock, createEntryBlock, type EntryArray } from './entry-block.js'
import { badConsumeLog } from './errors.js'

/** Header (magic, version, byte length) from the shared-block helper, the write cursor, then the records as its tail. */
export const CONSUME_LOG_LAYOUT = defineSharedBlock({
  name: 'consume log',
  /** 'HCLG' in ASCII. */
  magic: 0x48434c47,
  // 2: the shared-block header; the record count follows from the byte length.
  version: 2,
  i32: ['write'],
  refuse: badConsumeLog,
})
const H_WRITE = CONSUME_LOG_LAYOUT.i32.write
/** Int32 index of record 0 (8-aligned, so a record's floats are too). */
const RECORDS_WORD = CONSUME_LOG_LAYOUT.tailOffset / 4
/**
 * Int32 words per record: stamp, consumer, seq low, seq high, then three
 * float64 (start ns, end ns, queue ms). Monotonic ns in a float64 are exact
 * for 104 days of uptime and within a few ns after that: fine for spans.
 */
const RECORD_WORDS = 10
const RECORD_BYTES = RECORD_WORDS * 4
const R_STAMP = 0
const R_CONSUMER = 1
const R_SEQ_LOW = 2
const R_SEQ_HIGH = 3
/** Float64 index of the record's first float, relative to the record (word 4 = byte 16). */
const R_FLOATS_WORD = 4
const RECORDS: EntryArray<'write', never, never> = { layout: CONSUME_LOG_LAYOUT, entryBytes: RECORD_BYTES, entries: 'records' }
const TWO_POW_32 = 4294967296

export interface ConsumeRecord {
  consumer: number
  seq: number
  startNs: number
  endNs: number
  queueMs: number
}

export class ConsumeLog {
  readonly buffer: SharedArrayBuffer
  readonly records: number
  private readonly words: Int32Array
  private readonly floats: Float64Array
  /** Reader's next claim index (reader side only). */
  private readCursor: number

  private constructor(block: SharedBlock<'write', never, never>) {
    this.buffer = block.buffer
    this.records = block.tailBytes / RECORD_BYTES
    this.words = block.i32
    this.floats = block.f64
    this.readCursor = Atomics.load(this.words, H_WRITE)
  }

  static create(records = 256): ConsumeLog {
    return new ConsumeLog(createEntryBlock(RECORDS, records))
  }

  static attach(buffer: SharedArrayBuffer): ConsumeLog {
    return new ConsumeLog(attachEntryBlock(RECORDS, buffer))
  }

  /** Any thread: records that consumer `consumer` worked on frame `seq` from startNs to endNs (CLOCK_MONOTONIC). */
  write(consumer: number, seq: number, startNs: bigint, endNs: bigint, queueMs: number): void {
    const claim = Atomics.add(this.words, H_WRITE, 1)
    const base = RECORDS_WORD + ((claim >>> 0) % this.records) * RECORD_WORDS
    const w = this.words
    Atomics.store(w, base + R_STAMP, 0) // unpublished while being filled
    w[base + R_CONSUMER] = consumer
    w[base + R_SEQ_LOW] = seq % TWO_POW_32 | 0
    w[base + R_SEQ_HIGH] = Math.floor(seq / TWO_POW_32) | 0
    const f = (base + R_FLOATS_WORD) / 2
    this.floats[f] = Number(startNs)
    this.floats[f + 1] = Number(endNs)
    this.floats[f + 2] = queueMs
    Atomics.store(w, base + R_STAMP, (claim + 1) | 0)
  }

  /** The reader: hands every complete record since the last drain to fn, in claim order. Returns how many. */
  drain(fn: (r: ConsumeRecord) => void): number {
    const w = this.words
    const write = Atomics.load(w, H_WRITE)
    // Fell a whole log behind: the oldest records were overwritten.
    if (((write - this.readCursor) | 0) > this.records) this.readCursor = (write - this.records) | 0
    let n = 0
    while (this.readCursor !== write) {
      const claim = this.readCursor
      const base = RECORDS_WORD + ((claim >>> 0) % this.records) * RECORD_WORDS
      if (Atomics.load(w, base + R_STAMP) !== ((claim + 1) | 0)) break // still being written: next time
      const f = (base + R_FLOATS_WORD) / 2
      const record: ConsumeRecord = {
        consumer: w[base + R_CONSUMER]!,
        seq: (w[base + R_SEQ_LOW]! >>> 0) + (w[base + R_SEQ_HIGH]! >>> 0) * TWO_POW_32,
        startNs: this.floats[f]!,
        endNs: this.floats[f + 1]!,
        queueMs: this.floats[f + 2]!,
      }
      // A writer lapping us while we copied would have changed the stamp.
      if (Atomics.load(w, base + R_STAMP) === ((claim + 1) | 0)) {
        fn(record)
        n++
      }
      this.readCursor = (claim + 1) | 0
    }
    return n
  }
}
