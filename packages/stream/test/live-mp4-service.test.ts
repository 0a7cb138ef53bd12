// GET /cameras/main/live.mp4 against slow and fast viewers, with the real
// rings and real sockets: the test plays the live-mp4 worker's part (it
// publishes numbered fragments into the fragment ring at 60 a second, a
// keyframe every 30), so what each viewer got can be checked fragment by
// fragment. A viewer that reads nothing for a while must cost the process a
// bounded queue, skip to a keyframe when it reads again, and cost a viewer
// beside it nothing.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { PacketRing, packetRingBytes } from '@heart/ring'
import { LiveMp4Service } from '../src/live-mp4-service.js'
import { startServer } from './helpers/server.js'

const FRAGMENT_BYTES = 40_000
const FPS = 60
const GOP = 30
const MAX_QUEUED = 256 * 1024

/** A top-level box of `type` whose body starts with the fragment's number and keyframe flag. */
function box(type: string, bytes: number, seq = 0, keyframe = false): Uint8Array {
  const out = new Uint8Array(bytes)
  const view = new DataView(out.buffer)
  view.setUint32(0, bytes)
  out.set(Buffer.from(type, 'latin1'), 4)
  view.setUint32(8, seq)
  out[12] = keyframe ? 1 : 0
  return out
}

/** Reads top-level boxes off a socket as they arrive. */
function boxReader(socket: Socket): { boxes: Array<{ type: string; seq: number; keyframe: boolean }>; bytes: () => number } {
  const boxes: Array<{ type: string; seq: number; keyframe: boolean }> = []
  let held = Buffer.alloc(0)
  const body = { bytes: Buffer.alloc(0) }
  let headerDone = false
  let total = 0
  socket.on('data', (chunk: Buffer) => {
    total += chunk.length
    held = Buffer.concat([held, chunk])
    if (!headerDone) {
      const end = held.indexOf('\r\n\r\n')
      if (end < 0) return
      headerDone = true
      held = held.subarray(end + 4)
    }
    // Chunked transfer: strip the chunk framing into a plain byte stream first.
    held = dechunk(held, body, boxes)
  })
  return { boxes, bytes: () => total }
}

function dechunk(held: Buffer, body: { bytes: Buffer }, boxes: Array<{ type: string; seq: number; keyframe: boolean }>): Buffer {
  for (;;) {
    const line = held.indexOf('\r\n')
    if (line < 0) break
    const size = parseInt(held.subarray(0, line).toString('latin1'), 16)
    if (held.length < line + 2 + size + 2) break
    body.bytes = Buffer.concat([body.bytes, held.subarray(line + 2, line + 2 + size)])
    held = held.subarray(line + 2 + size + 2)
  }
  let b = body.bytes
  while (b.length >= 8 && b.readUInt32BE(0) <= b.length) {
    boxes.push({ type: b.subarray(4, 8).toString('latin1'), seq: b.readUInt32BE(8), keyframe: b[12] === 1 })
    b = b.subarray(b.readUInt32BE(0))
  }
  body.bytes = b
  return held
}

t.test('a viewer that stops reading is bounded and skips to a keyframe; a viewer beside it loses nothing', async (t) => {
  const packets = PacketRing.create(packetRingBytes({ bitrateBps: 8e6, seconds: 4, fps: FPS }))
  packets.producer().setStream({ codec: 'h264', width: 1280, height: 720, fps: FPS, codecConfig: new Uint8Array([0, 0, 0, 1, 0x67]) })
  const started: string[] = []
  const service = LiveMp4Service.start({ startService: (spec) => (started.push(spec.name), { name: spec.name } as never) }, {
    camera: 'main',
    packets,
    fragmentRing: packetRingBytes({ bitrateBps: FRAGMENT_BYTES * 8 * FPS, seconds: 3, fps: FPS }),
    maxQueuedBytes: MAX_QUEUED,
  })
  t.same(started, ['live_mp4_main'], 'the service starts its worker under the kernel')
  // The worker's part: the init segment in the stream description, then fragments.
  const producer = PacketRing.attach(service.fragments.buffer).producer()
  producer.setStream({ codec: 'h264', width: 1280, height: 720, fps: FPS, codecConfig: box('ftyp', 64) })
  // As the worker reports while it muxes for viewers.
  service.control.report({ state: 'muxing', mimeCodec: 'avc1.64001f' })
  let seq = 0
  const publish = (): void => {
    const keyframe = seq % GOP === 0
    producer.write({ data: box('moof', FRAGMENT_BYTES, seq, keyframe), keyframe, ptsUs: seq * 16_667, dtsUs: seq * 16_667, durationUs: 16_667, captureTsNs: process.hrtime.bigint() })
    seq++
  }
  publish()
  t.notOk(service.control.wanted(), 'nobody watches: the worker is told not to mux')
  const timer = setInterval(publish, 1000 / FPS)
  t.teardown(() => clearInterval(timer))
  const server = await startServer(service.routes())
  t.teardown(() => server.close())
  const port = Number(new URL(server.url).port)

  const open = (): Socket => {
    const socket = connect(port, '127.0.0.1')
    socket.write('GET /cameras/main/live.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    t.teardown(() => socket.destroy())
    return socket
  }
  const fastSocket = open()
  const fast = boxReader(fastSocket)
  const slowSocket = open()
  const slow = boxReader(slowSocket)
  await new Promise((r) => setTimeout(r, 300))
  t.ok(service.control.wanted(), 'with viewers the worker is told to mux')
  slowSocket.pause()
  let maxQueued = 0
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 100))
    maxQueued = Math.max(maxQueued, service.stats().queued_bytes)
  }
  const paused = service.stats()
  t.ok(paused.skipped > 0, `the slow viewer skipped ${paused.skipped} fragments instead of queueing them`)
  t.ok(maxQueued <= MAX_QUEUED + FRAGMENT_BYTES + 1024, `queued in heart at most ${maxQueued} bytes (budget ${MAX_QUEUED} + one fragment)`)
  const unread = 4 * FPS * FRAGMENT_BYTES
  t.ok(unread > 10 * maxQueued, `while ${(unread / 1e6).toFixed(1)} MB went unread for 4 s (what the kernel's socket buffers did not take was skipped)`)

  slowSocket.resume()
  await new Promise((r) => setTimeout(r, 1500))
  clearInterval(timer)
  await new Promise((r) => setTimeout(r, 300))

  for (const [name, viewer] of [['fast', fast], ['slow', slow]] as const) {
    t.equal(viewer.boxes[0]?.type, 'ftyp', `${name}: the init segment comes first`)
    t.ok(viewer.boxes[1]?.keyframe, `${name}: the first fragment is a keyframe`)
  }
  const fastSeqs = fast.boxes.slice(1).map((b) => b.seq)
  const gapsFast = fastSeqs.filter((s, i) => i > 0 && s !== fastSeqs[i - 1]! + 1).length
  t.equal(gapsFast, 0, `the fast viewer got every fragment in order (${fastSeqs.length}, ${fastSeqs[0]}..${fastSeqs.at(-1)})`)
  t.equal(fastSeqs.at(-1), seq - 1, 'the fast viewer got the last fragment published')
  const slowFrags = slow.boxes.slice(1)
  const resumes = slowFrags.filter((b, i) => i > 0 && b.seq !== slowFrags[i - 1]!.seq + 1)
  t.ok(resumes.length >= 1, `the slow viewer's stream has ${resumes.length} skip(s)`)
  t.ok(resumes.every((b) => b.keyframe), 'after every skip the slow viewer resumes at a keyframe')
  t.equal(slowFrags.at(-1)?.seq, seq - 1, 'the slow viewer caught up with the live edge')
  const missed = seq - slowFrags[0]!.seq - slowFrags.length
  t.equal(missed, service.stats().skipped, `the fragments missing from the slow viewer's stream (${missed}) are the skips counted`)

  fastSocket.destroy()
  slowSocket.destroy()
  await new Promise((r) => setTimeout(r, 100))
  t.equal(service.stats().viewers, 0, 'viewers leave')
  t.notOk(service.control.wanted(), 'with the last viewer gone the worker is told to stop muxing')
})

t.test('live.mp4 answers 503 with the reason while the camera has no compressed stream', async (t) => {
  const packets = PacketRing.create(packetRingBytes({ bitrateBps: 8e6, seconds: 4, fps: 30 }))
  const service = LiveMp4Service.start({ startService: () => ({}) as never }, { camera: 'main', packets, fragmentRing: packetRingBytes({ bitrateBps: 8e6, seconds: 4, fps: 30 }), unprefixed: true })
  const server = await startServer(service.routes())
  t.teardown(() => server.close())
  for (const path of ['/cameras/main/live.mp4', '/live.mp4']) {
    const res = await fetch(server.url + path)
    t.equal(res.status, 503, `${path}: 503`)
    t.match(((await res.json()) as { error: string }).error, /no compressed stream yet.*MJPEG/, 'the body says why and what to watch instead')
  }
  const info = (await (await fetch(server.url + '/live.json')).json()) as { available: boolean; problem: string }
  t.equal(info.available, false, 'live.json says it is not available')
  t.match(info.problem, /no compressed stream/)
})

t.test('a new fragment-ring epoch (the camera reopened) ends the response, so the player reconnects for the new init segment', async (t) => {
  const packets = PacketRing.create(packetRingBytes({ bitrateBps: 8e6, seconds: 4, fps: 30 }))
  packets.producer().setStream({ codec: 'h264', width: 320, height: 240, fps: 30, codecConfig: new Uint8Array([0, 0, 0, 1, 0x67]) })
  const service = LiveMp4Service.start({ startService: () => ({}) as never }, { camera: 'main', packets, fragmentRing: packetRingBytes({ bitrateBps: 8e6, seconds: 4, fps: 30 }) })
  const producer = PacketRing.attach(service.fragments.buffer).producer()
  const send = (seq: number, keyframe: boolean): void =>
    void producer.write({ data: box('moof', 1000, seq, keyframe), keyframe, ptsUs: seq * 33_333, dtsUs: seq * 33_333, durationUs: 33_333, captureTsNs: process.hrtime.bigint() })
  producer.setStream({ codec: 'h264', width: 320, height: 240, fps: 30, codecConfig: box('ftyp', 32) })
  service.control.report({ state: 'muxing', mimeCodec: 'avc1.64000d' })
  send(0, true)
  const server = await startServer(service.routes())
  t.teardown(() => server.close())
  const res = await fetch(`${server.url}/cameras/main/live.mp4`)
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-mime-codec'), 'avc1.64000d')
  const bodyDone = res.arrayBuffer()
  for (let i = 1; i < 5; i++) {
    send(i, false)
    await new Promise((r) => setTimeout(r, 20))
  }
  producer.setStream({ codec: 'h264', width: 640, height: 480, fps: 30, codecConfig: box('ftyp', 40) })
  send(5, true)
  const body = Buffer.from(await Promise.race([bodyDone, new Promise<ArrayBuffer>((_, reject) => setTimeout(() => reject(new Error('the response did not end')), 3000))]))
  const types: string[] = []
  for (let at = 0; at + 8 <= body.length; at += body.readUInt32BE(at)) types.push(`${body.subarray(at + 4, at + 8).toString('latin1')}${body.subarray(at + 4, at + 8).toString('latin1') === 'moof' ? body.readUInt32BE(at + 8) : ''}`)
  t.same(types, ['ftyp', 'moof0', 'moof1', 'moof2', 'moof3', 'moof4'], 'the old stream\'s init and fragments, then the response ended: nothing of the new stream under the old init segment')
})
