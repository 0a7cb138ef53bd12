import { Writable } from 'node:stream'
import t from 'tap'
import { LiveFeed } from '../src/live-feed.js'
import { fakeFrame } from './helpers/frames.js'

/** A text sink; `full` makes write() report back-pressure without losing data. */
class TextSink extends Writable {
  text = ''
  full = false
  override write(chunk: unknown): boolean {
    super.write(chunk as string)
    return !this.full
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString()
    done()
  }
  events(): Array<{ event: string; data: any }> {
    return [...this.text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({ event: m[1]!, data: JSON.parse(m[2]!) }))
  }
}

t.test('a new client gets retry advice and the latest of each kind, then live events', async (t) => {
  const feed = new LiveFeed()
  feed.publishFrame(fakeFrame(3))
  feed.publish('motion', { seq: '3', captureTsNs: '9', boxes: [{ x: 1, y: 2, w: 3, h: 4 }], frameWidth: 320, frameHeight: 180 })
  const sink = new TextSink()
  feed.addClient(sink)
  t.match(sink.text, /^retry: 1000\n\n/)
  t.same(sink.events().map((e) => e.event), ['frame', 'motion'])
  t.match(sink.events()[1]!.data, { seq: '3', captureTsNs: '9', frameWidth: 320, frameHeight: 180 })
  feed.publish('detection', { seq: 4, detections: [{ label: 'car', confidence: '0.5' as unknown as number, box: { x: '1', y: 2, w: 3, h: 4 } }] })
  t.match(sink.events()[2], { event: 'detection', data: { seq: '4', detections: [{ label: 'car', confidence: 0.5, box: { x: 1 } }] } }, 'payloads are normalised')
  t.equal(feed.clientCount(), 1)
  feed.close()
  t.equal(feed.clientCount(), 0)
  t.ok(sink.writableEnded, 'close() ends the streams')
})

t.test('a client with back-pressure misses events and catches up with the latest on drain', async (t) => {
  const feed = new LiveFeed()
  const sink = new TextSink()
  feed.addClient(sink)
  sink.full = true
  feed.publish('motion', { seq: 1, boxes: [] }) // written, and reports back-pressure
  for (let i = 2; i <= 50; i++) feed.publish('motion', { seq: i, boxes: [] })
  feed.publish('thermal.frame', { seq: 9, ta: 20 })
  t.same(sink.events().map((e) => e.data.seq), ['1'], 'nothing is queued while the client is full')
  sink.full = false
  sink.emit('drain')
  const after = sink.events().slice(1)
  t.same(after.map((e) => `${e.event}:${e.data.seq}`), ['motion:50', 'thermal:9'], 'on drain: the latest of each kind, once')
  t.match(after[1]!.data, { ta: 20, min: 20, max: 20, temperatures: [] }, 'a thermal event without temperatures still shows Ta')
})

t.test('closed clients are dropped; unknown events are ignored', async (t) => {
  const feed = new LiveFeed()
  const sink = new TextSink()
  const remove = feed.addClient(sink)
  sink.destroy()
  await new Promise((r) => setImmediate(r))
  t.equal(feed.clientCount(), 0)
  remove()
  t.equal(feed.publish('frame.available', {}), false)
  t.equal(feed.publish('motion', { seq: 1, boxes: 'nope' }), true)
  t.same((feed.snapshot().motion as { boxes: unknown[] }).boxes, [], 'malformed boxes become none')
  t.same(feed.snapshot().detection, null)
})

t.test('results are remembered by seq for the last 256 frames', async (t) => {
  const feed = new LiveFeed()
  for (let seq = 1; seq <= 300; seq++) feed.publish('motion', { seq, boxes: [{ x: seq, y: 0, w: 1, h: 1 }] })
  feed.publish('detection', { seq: '299', detections: [] })
  t.same(feed.resultsFor(300n).motion?.boxes, [{ x: 300, y: 0, w: 1, h: 1 }])
  t.match(feed.resultsFor('299'), { motion: { seq: '299' }, detection: { seq: '299' } })
  t.match(feed.resultsFor(45n), { motion: { seq: '45' } })
  t.same(feed.resultsFor(44n), { motion: null, detection: null }, 'older ones are forgotten')
})
