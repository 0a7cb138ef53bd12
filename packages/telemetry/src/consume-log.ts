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

import { badConsumeLog } from './errors.js'

const MAGIC = 0x48434c47
const VERSION = 1
const HEADER_WORDS = 4 // magic, version, records, write cursor
const H_MAGIC = 0
const H_VERSION = 1
const H_RECORDS = 2
const H_WRITE = 3
/**
 * Int32 words per record: stamp, consumer, seq low, seq high, then three
 * float64 (start ns, end ns, queue ms). Monotonic ns in a float64 are exact
 * for 104 days of uptime and within a few ns after that: fine for spans.
 */
const RECORD_WORDS = 10
const R_STAMP = 0
const R_CONSUMER = 1
const R_SEQ_LOW = 2
const R_SEQ_HIGH = 3
/** Float64 index of the record's first float, relative to the record (word 4 = byte 16). */
const R_FLOATS_WORD = 4
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

  private constructor(buffer: SharedArrayBuffer, records: number) {
    this.buffer = buffer
    this.records = records
    this.words = new Int32Array(buffer)
    this.floats = new Float64Array(buffer)
    this.readCursor = Atomics.load(this.words, H_WRITE)
  }

  static create(records = 256): ConsumeLog {
    if (!Number.isInteger(records) || records < 1 || records > 65536) throw badConsumeLog(`records must be a whole number from 1 to 65536, got ${records}`)
    const buffer = new SharedArrayBuffer((HEADER_WORDS + records * RECORD_WORDS) * 4)
    const words = new Int32Array(buffer)
    words[H_VERSION] = VERSION
    words[H_RECORDS] = records
    Atomics.store(words, H_MAGIC, MAGIC)
    return new ConsumeLog(buffer, records)
  }

  static attach(buffer: SharedArrayBuffer): ConsumeLog {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_WORDS * 4) throw badConsumeLog('not a SharedArrayBuffer of at least 16 bytes')
    const words = new Int32Array(buffer)
    if (Atomics.load(words, H_MAGIC) !== MAGIC) throw badConsumeLog('wrong magic: this is not a heart consume log')
    if (words[H_VERSION] !== VERSION) throw badConsumeLog(`layout version ${words[H_VERSION]}, expected ${VERSION}`)
    const records = words[H_RECORDS]!
    if (buffer.byteLength !== (HEADER_WORDS + records * RECORD_WORDS) * 4) throw badConsumeLog('its size does not match its record count')
    return new ConsumeLog(buffer, records)
  }

  /** Any thread: records that consumer `consumer` worked on frame `seq` from startNs to endNs (CLOCK_MONOTONIC). */
  write(consumer: number, seq: number, startNs: bigint, endNs: bigint, queueMs: number): void {
    const claim = Atomics.add(this.words, H_WRITE, 1)
    const base = HEADER_WORDS + ((claim >>> 0) % this.records) * RECORD_WORDS
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
      const base = HEADER_WORDS + ((claim >>> 0) % this.records) * RECORD_WORDS
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
