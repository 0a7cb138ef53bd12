import { once } from 'node:events'
import { request } from 'node:http'
import { connect } from 'node:net'
import { Writable } from 'node:stream'
import { setImmediate as tick } from 'node:timers/promises'
import t from 'tap'
import { MJPEG_BOUNDARY, MjpegHub } from '../src/mjpeg-hub.js'
import { MultipartParser, type Part } from './helpers/multipart.js'
import { fakeFrame } from './helpers/frames.js'
import { startServer } from './helpers/server.js'

/** A sink that keeps everything written to it; `stall` holds writes until `release()`. */
class MemorySink extends Writable {
  readonly chunks: Buffer[] = []
  private held: Array<() => void> = []
  stalled = false

  constructor(highWaterMark = 1 << 20) {
    super({ highWaterMark })
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.chunks.push(chunk)
    if (this.stalled) this.held.push(() => done())
    else done()
  }

  release(): void {
    this.stalled = false
    const held = this.held
    this.held = []
    for (const done of held) done()
  }

  parts(): Part[] {
    const parts: Part[] = []
    new MultipartParser(MJPEG_BOUNDARY, (p) => parts.push(p)).push(Buffer.concat(this.chunks))
    return parts
  }
}

t.test('one encode fans out to every viewer, byte for byte, with seq and capture headers', async (t) => {
  const hub = new MjpegHub()
  const sinks = [new MemorySink(), new MemorySink(), new MemorySink()]
  for (const sink of sinks) hub.addViewer(sink)
  const frames = [1, 2, 3, 4, 5].map((seq) => fakeFrame(seq, 2000 + seq))
  for (const frame of frames) hub.publish(frame)
  for (const sink of sinks) {
    const parts = sink.parts()
    t.equal(parts.length, frames.length, 'every viewer got every frame')
    parts.forEach((part, i) => {
      t.ok(part.body.equals(frames[i]!.jpeg), `part ${i} carries frame ${i + 1}'s bytes`)
      t.equal(part.headers['content-type'], 'image/jpeg')
      t.equal(part.headers['x-frame-seq'], String(frames[i]!.meta.seq))
      t.equal(part.headers['x-capture-ts'], String(frames[i]!.meta.captureTsNs))
    })
  }
  // One shared buffer, not a copy per viewer.
  t.equal(sinks[0]!.chunks[1], sinks[2]!.chunks[1], 'viewers are handed the same JPEG buffer')
  t.match(hub.stats(), { viewers: 3, published: 5, sent: 15, skipped: 0, latestSeq: '5', latestBytes: 2005 })
})

t.test('a new viewer gets the latest frame at once', async (t) => {
  const hub = new MjpegHub()
  hub.publish(fakeFrame(7))
  hub.publish(fakeFrame(8))
  const sink = new MemorySink()
  const viewer = hub.addViewer(sink)
  const parts = sink.parts()
  t.equal(parts.length, 1)
  t.equal(parts[0]!.headers['x-frame-seq'], '8')
  t.match(viewer.stats(), { sent: 1, skipped: 0 }, 'joining late is not counted as skipping')
})

t.test('a viewer whose sink has not drained skips to the newest frame on drain', async (t) => {
  const hub = new MjpegHub()
  const fast = new MemorySink()
  const slow = new MemorySink(1024) // a 2 kB part overflows it at once
  slow.stalled = true
  hub.addViewer(fast)
  const slowViewer = hub.addViewer(slow)
  for (let seq = 1; seq <= 10; seq++) hub.publish(fakeFrame(seq, 2000))
  t.equal(fast.parts().length, 10, 'the fast viewer is not held back by the slow one')
  t.match(slowViewer.stats(), { sent: 1, skipped: 8, pending: 1, waitingForDrain: true })
  const drained = once(slow, 'drain')
  slow.release()
  await drained
  await tick()
  const seqs = slow.parts().map((p) => p.headers['x-frame-seq'])
  t.same(seqs, ['1', '10'], 'after drain the slow viewer gets the latest frame, not the backlog')
  t.match(slowViewer.stats(), { sent: 2, skipped: 8 })
  t.equal(hub.stats().skipped, 8)
})

t.test('closed viewers are removed and their figures kept', async (t) => {
  const hub = new MjpegHub()
  const sink = new MemorySink()
  hub.addViewer(sink)
  hub.publish(fakeFrame(1))
  sink.destroy()
  await once(sink, 'close')
  hub.publish(fakeFrame(2))
  t.match(hub.stats(), { viewers: 0, published: 2, sent: 1 })
  const other = new MemorySink()
  const handle = hub.addViewer(other)
  handle.detach()
  hub.publish(fakeFrame(3))
  t.equal(other.parts().length, 1, 'a detached viewer gets nothing more')
  const third = new MemorySink()
  hub.addViewer(third)
  hub.close()
  t.ok(third.writableEnded, 'close() ends open viewers')
})

t.test('nextFrame resolves on publish and with null on timeout', async (t) => {
  const hub = new MjpegHub()
  t.equal(await hub.nextFrame(10), null)
  const pending = hub.nextFrame(5000)
  hub.publish(fakeFrame(3))
  t.equal((await pending)?.meta.seq, 3n)
  let calls = 0
  const off = hub.onPublish(() => calls++)
  hub.publish(fakeFrame(4))
  off()
  hub.publish(fakeFrame(5))
  t.equal(calls, 1)
})

t.test('over a real socket that is never read, the viewer skips frames and server memory stays bounded', async (t) => {
  const hub = new MjpegHub()
  const server = await startServer([
    {
      method: 'GET',
      path: '/stream.mjpeg',
      handle: (req, res) => {
        res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}` })
        res.flushHeaders()
        const viewer = hub.addViewer(res)
        viewers.push(viewer)
        req.once('close', () => viewer.detach())
      },
    },
  ])
  const viewers: Array<ReturnType<MjpegHub['addViewer']>> = []
  t.teardown(() => server.close())

  // The slow viewer: a raw socket that sends its request and then never reads.
  const slow = connect(Number(new URL(server.url).port), '127.0.0.1')
  t.teardown(() => slow.destroy())
  await once(slow, 'connect')
  slow.pause()
  slow.write('GET /stream.mjpeg HTTP/1.1\r\nHost: localhost\r\n\r\n')

  // The fast viewer reads everything with Node's HTTP client.
  const fastParts: Part[] = []
  const fastReq = request(`${server.url}/stream.mjpeg`)
  t.teardown(() => fastReq.destroy())
  fastReq.end()
  const [fastRes] = (await once(fastReq, 'response')) as [import('node:http').IncomingMessage]
  const parser = new MultipartParser(MJPEG_BOUNDARY, (p) => fastParts.push(p))
  fastRes.on('data', (chunk: Buffer) => parser.push(chunk))
  while (viewers.length < 2) await tick()
  const slowViewer = viewers[0]!

  const frameBytes = 200_000
  const frames = 400 // 80 MB in all: far more than socket buffers can hide
  let maxBuffered = 0
  for (let seq = 1; seq <= frames; seq++) {
    hub.publish(fakeFrame(seq, frameBytes))
    maxBuffered = Math.max(maxBuffered, slowViewer.stats().buffered)
    await tick() // let sockets drain between frames, as a real frame interval would
  }
  const stats = slowViewer.stats()
  t.ok(stats.skipped > 0, `the slow viewer skipped frames (${stats.skipped})`)
  t.ok(stats.sent < frames / 2, `and was sent only some (${stats.sent} of ${frames})`)
  t.equal(stats.sent + stats.skipped + stats.pending, frames, 'every frame was sent, skipped, or is the one pending')
  t.equal(stats.pending, 1, 'the newest frame waits for the socket to drain')
  const bound = 16 * 1024 + frameBytes + 1024 // high-water mark + one part (+ part head and chunk framing)
  t.ok(maxBuffered <= bound, `bytes held for the slow viewer stayed under ${bound} (max ${maxBuffered})`)

  // The fast viewer keeps up and ends on the newest frame.
  while (fastParts.length === 0 || fastParts.at(-1)!.headers['x-frame-seq'] !== String(frames)) {
    await once(fastRes, 'data')
  }
  t.ok(fastParts.length > stats.sent, `the fast viewer got more frames (${fastParts.length}) than the slow one`)

  // Once the slow viewer reads again, it is sent the newest frame next, not its backlog.
  let seen = ''
  slow.setEncoding('latin1')
  slow.on('data', (text: string) => {
    seen = (seen + text).slice(-1_000_000)
  })
  slow.resume()
  hub.publish(fakeFrame(frames + 1, 1000))
  while (!seen.includes(`X-Frame-Seq: ${frames + 1}\r\n`)) await once(slow, 'data')
  t.pass('the slow viewer caught up with the newest frame')
})

t.test('the hub wants JPEGs only while a viewer is connected, and says when that changes', async (t) => {
  const hub = new MjpegHub()
  const told: boolean[] = []
  const off = hub.onDemand((wanted) => told.push(wanted))
  t.same(told, [false], 'told the current answer at once: nobody watches')
  const first = hub.addViewer(new MemorySink())
  const second = hub.addViewer(new MemorySink())
  t.same(told, [false, true], 'the first viewer turns it on, the second changes nothing')
  t.equal(hub.stats().wanted, true)
  first.detach()
  t.same(told, [false, true], 'still wanted while one viewer is left')
  second.detach()
  t.same(told, [false, true, false], 'the last viewer leaving turns it off')
  t.equal(hub.stats().wanted, false)
  const sink = new MemorySink()
  hub.addViewer(sink)
  sink.destroy()
  await once(sink, 'close')
  t.same(told, [false, true, false, true, false], 'a viewer whose socket closes stops wanting too')
  off()
  hub.addViewer(new MemorySink())
  t.equal(told.length, 5, 'unsubscribed')
})

t.test('a snapshot asks for a frame while it waits, and takes a fresh latest one without asking', async (t) => {
  let nowMs = 1000
  const hub = new MjpegHub({ now: () => nowMs, snapshotFreshMs: 250 })
  const told: boolean[] = []
  hub.onDemand((wanted) => told.push(wanted))
  const none = await hub.freshFrame(20)
  t.equal(none, null, 'nothing came: null after the wait')
  t.same(told, [false, true, false], 'wanted only while it waited')

  const pending = hub.freshFrame(5000)
  t.equal(hub.wanted, true, 'a waiting snapshot wakes the encoder')
  hub.publish(fakeFrame(7))
  t.equal((await pending)!.meta.seq, 7n, 'answered by the next frame')
  t.equal(hub.wanted, false, 'and stops asking')

  nowMs += 100
  const fresh = hub.freshFrame(5000)
  t.equal(hub.wanted, false, 'a JPEG 100 ms old answers without waking the encoder')
  t.equal((await fresh)!.meta.seq, 7n)

  nowMs += 1000
  const stale = hub.freshFrame(5000)
  t.equal(hub.wanted, true, 'a JPEG 1.1 s old is stale: the encoder is asked for the newest frame')
  hub.publish(fakeFrame(8))
  t.equal((await stale)!.meta.seq, 8n)

  nowMs += 5000
  const viewer = hub.addViewer(new MemorySink())
  nowMs += 10
  let settled = false
  const beforeWork = hub.freshFrame(5000).finally(() => (settled = true))
  await tick()
  t.equal(settled, false, 'waits for the encoder')
  hub.publish(fakeFrame(9))
  t.equal((await beforeWork)!.meta.seq, 9n, 'a JPEG from before the viewer came is not taken as the encoder\'s newest')
  nowMs += 1000
  t.equal((await hub.freshFrame(10))!.meta.seq, 9n, 'while a viewer keeps the encoder working, its latest JPEG is the newest')
  viewer.detach()
})
