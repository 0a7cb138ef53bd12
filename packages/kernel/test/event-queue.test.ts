import t from 'tap'
import { EventQueue, type KernelEvent } from '../src/index.js'

t.test('events are delivered in order to their subscribers and to *', async (t) => {
  const q = new EventQueue(8)
  const motion: unknown[] = []
  const all: string[] = []
  const off = q.on('motion', (e) => motion.push(e.payload))
  q.on('*', (e: KernelEvent) => all.push(e.type))
  q.push('motion', 1, 'motion_detector')
  q.push('thermal.frame', { ta: 25 })
  q.push('motion', 2)
  t.equal(q.length, 3)
  t.equal(q.drain(), 3)
  t.same(motion, [1, 2])
  t.same(all, ['motion', 'thermal.frame', 'motion'])
  off()
  q.push('motion', 3)
  q.drain()
  t.same(motion, [1, 2], 'unsubscribed')
  t.equal(q.delivered, 4)
})

t.test('a full queue drops and counts instead of growing', async (t) => {
  const q = new EventQueue(2)
  t.ok(q.push('a', 1))
  t.ok(q.push('a', 2))
  t.notOk(q.push('a', 3))
  t.equal(q.dropped, 1)
  t.equal(q.length, 2)
  t.throws(() => new EventQueue(0), RangeError)
})

t.test('drain honours its budget; a throwing subscriber does not stop the others', async (t) => {
  const errors: string[] = []
  const logger = { debug() {}, info() {}, warn() {}, error: (m: string) => errors.push(m) }
  const q = new EventQueue(16, logger)
  let seen = 0
  q.on('x', () => {
    throw new Error('bad subscriber')
  })
  q.on('x', () => seen++)
  for (let i = 0; i < 5; i++) q.push('x', i)
  t.equal(q.drain(2), 2)
  t.equal(q.length, 3)
  q.drain()
  t.equal(seen, 5)
  t.equal(q.handlerErrors, 5)
  t.match(errors[0], /subscriber threw/)
})
