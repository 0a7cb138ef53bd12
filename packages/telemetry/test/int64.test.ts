import t from 'tap'
import { add64, read64, store64 } from '../src/int64.js'

t.test('carries from the low word into the high word', async (t) => {
  const w = new Int32Array(2)
  store64(w, 0, 2 ** 32 - 2)
  add64(w, 0, 1)
  t.equal(read64(w, 0), 2 ** 32 - 1)
  add64(w, 0, 1)
  t.equal(read64(w, 0), 2 ** 32)
  add64(w, 0, 2 ** 32 - 1)
  t.equal(read64(w, 0), 2 ** 33 - 1)
  add64(w, 0, 2 ** 40 + 5)
  t.equal(read64(w, 0), 2 ** 33 - 1 + 2 ** 40 + 5)
})

t.test('large adds with and without a carry match plain arithmetic', async (t) => {
  const w = new Int32Array(2)
  let expected = 0
  const steps = [3, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 2 ** 45 + 2 ** 31 + 1, 1, 2 ** 32 - 1]
  for (const n of steps) {
    add64(w, 0, n)
    expected += n
    t.equal(read64(w, 0), expected, `after adding ${n}`)
  }
})
