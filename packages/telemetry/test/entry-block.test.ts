import t from 'tap'
import { SharedBlock, defineSharedBlock } from '@heart/ring'
import { attachEntryBlock, createEntryBlock, type EntryArray } from '../src/entry-block.js'

const refused = (problem: string): Error => Object.assign(new Error(`test table: ${problem}`), { code: 'TEST_TABLE' })
const layout = defineSharedBlock({ name: 'test table', magic: 0x54455354, version: 1, i32: ['cursor'], refuse: refused })
const rows: EntryArray<'cursor', never, never> = { layout, entryBytes: 24, entries: 'rows' }

t.test('a block of whole entries is created and attached; the count follows from its length', async (t) => {
  const block = createEntryBlock(rows, 5)
  t.equal(block.tailBytes, 5 * 24)
  const again = attachEntryBlock(rows, block.buffer)
  t.equal(again.tailBytes / rows.entryBytes, 5)
  t.equal(again.buffer, block.buffer)
})

t.test('counts out of range and tails that are not whole entries are refused through the layout', async (t) => {
  for (const count of [0, -1, 1.5, 65537, Number.NaN]) t.throws(() => createEntryBlock(rows, count), { code: 'TEST_TABLE', message: /rows must be a whole number from 1 to 65536/ }, String(count))
  // A block of the same kind whose tail holds 32 bytes: one entry and a part of another.
  const ragged = SharedBlock.create(layout, 32)
  t.throws(() => attachEntryBlock(rows, ragged.buffer), { code: 'TEST_TABLE', message: /32 bytes of rows are not a whole number of 24-byte rows/ })
  const empty = SharedBlock.create(layout, 0)
  t.throws(() => attachEntryBlock(rows, empty.buffer), { code: 'TEST_TABLE', message: /0 bytes of rows/ })
})
