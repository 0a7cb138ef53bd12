// The trace table and the consume log are both a shared block whose tail is
// an array of fixed-size entries (trace slots, consume records). This sizes,
// creates and checks that array for both; the shared-block helper of
// @heart/ring owns the header (magic, version, byte length).
import { SharedBlock, type SharedBlockLayout } from '@heart/ring'

export interface EntryArray<I extends string, F extends string, S extends string> {
  layout: SharedBlockLayout<I, F, S>
  /** Bytes of one entry, a multiple of 8 so that the tail holds whole entries. */
  entryBytes: number
  /** What an entry is called in errors ("slots", "records"). */
  entries: string
}

/** Most entries one block holds: a table that large is already a mistake. */
const MAX_ENTRIES = 65536

export function createEntryBlock<I extends string, F extends string, S extends string>(spec: EntryArray<I, F, S>, count: number): SharedBlock<I, F, S> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_ENTRIES) throw spec.layout.refuse(`${spec.entries} must be a whole number from 1 to ${MAX_ENTRIES}, got ${count}`)
  return SharedBlock.create(spec.layout, count * spec.entryBytes)
}

/** Attaches, then checks that the tail is a whole number of entries; the count is `tailBytes / entryBytes`. */
export function attachEntryBlock<I extends string, F extends string, S extends string>(spec: EntryArray<I, F, S>, buffer: SharedArrayBuffer): SharedBlock<I, F, S> {
  const block = SharedBlock.attach(spec.layout, buffer)
  if (block.tailBytes === 0 || block.tailBytes % spec.entryBytes !== 0) {
    throw spec.layout.refuse(`its ${block.tailBytes} bytes of ${spec.entries} are not a whole number of ${spec.entryBytes}-byte ${spec.entries}`)
  }
  return block
}
