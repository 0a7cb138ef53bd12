import t from 'tap'
import { Worker } from 'node:worker_threads'
import { runInNewContext } from 'node:vm'
import v8 from 'node:v8'
import { PACKET_RING_MAGIC, PacketRing, RingError, SHARED_BLOCK_HEADER, packetRingBytes, type PacketInput, type PacketProducer, type PacketReader, type PacketRecord } from '../src/index.js'
import { CODEC_CONFIG_BYTES, ENTRY_BYTES, packetRingLayout } from '../src/packet-layout.js'
import { fillPayload, payloadProblem, payloadSize } from './fixtures/packet-payload.js'

const FRAME_US = 33_333

/** Writes packet `seq` with a self-checking payload of `size` bytes; a keyframe every `gop`. */
function writePacket(producer: PacketProducer, seq: number, size: number, gop = 10, captureTsNs = BigInt(seq) * 1_000_000n): number {
  return producer.write({ data: fillPayload(new Uint8Array(size), seq), keyframe: seq % gop === 0, ptsUs: seq * FRAME_US, dtsUs: seq * FRAME_US - 1, durationUs: FRAME_US, captureTsNs })
}

function drain(reader: PacketReader): PacketRecord[] {
  const out: PacketRecord[] = []
  for (let r = reader.next(); r; r = reader.next()) out.push({ ...r, data: r.data.slice() })
  return out
}

t.test('records of random sizes and metadata come back intact, through many wraps', async (t) => {
  const ring = PacketRing.create({ dataBytes: 8192, indexEntries: 16 })
  const producer = ring.producer()
  const reader = ring.reader({ name: 'recorder', start: 'next' })
  let random = 12345
  const rand = (n: number): number => {
    random = (Math.imul(random, 1103515245) + 12345) >>> 0
    return random % n
  }
  let problems = 0
  let bytes = 0
  let wrongSeqs = 0
  for (let seq = 0; seq < 3000; seq++) {
    const size = 12 + rand(3000)
    const keyframe = seq === 0 || rand(4) === 0
    const input: PacketInput = { data: fillPayload(new Uint8Array(size), seq), keyframe, ptsUs: rand(1e9), dtsUs: -rand(1e6), durationUs: rand(100_000) + 0.5, captureTsNs: BigInt(rand(2 ** 30)) * 1_000_000_007n }
    if (producer.write(input) !== seq) wrongSeqs++
    bytes += size
    const record = reader.next()
    if (!record) {
      problems++
      continue
    }
    if (payloadProblem(record.data, seq) !== null) problems++
    if (record.seq !== BigInt(seq) || record.keyframe !== keyframe || record.ptsUs !== input.ptsUs || record.dtsUs !== input.dtsUs) problems++
    if (record.durationUs !== input.durationUs || record.captureTsNs !== input.captureTsNs || record.epoch !== 0) problems++
  }
  t.equal(wrongSeqs, 0, 'write returns the seq, 0-based and increasing')
  t.equal(problems, 0, 'every record read back equals what was written')
  t.ok(bytes > 100 * 8192, 'the data region wrapped more than a hundred times')
  t.same(reader.stats(), { delivered: 3000, dropped: { recorder_slow: 0, no_keyframe: 0 }, lag: 0 })
  t.equal(reader.next(), null, 'nothing more once caught up')
})

t.test('a record that does not fit before the end of the data region starts at 0', async (t) => {
  const ring = PacketRing.create({ dataBytes: 1024, indexEntries: 8 })
  const producer = ring.producer()
  const reader = ring.reader({ name: 'clip', start: 'next' })
  for (let seq = 0; seq < 3; seq++) writePacket(producer, seq, 400, 1)
  // Data region: [0] 0..400, [1] 400..800; [2] would straddle the end, so it goes to 0 over [0] only.
  const dataAt = packetRingLayout.tailOffset + ring.indexEntries * ENTRY_BYTES + CODEC_CONFIG_BYTES
  const regionStart = new Uint8Array(ring.buffer, dataAt, 400)
  t.equal(payloadProblem(regionStart, 2), null, 'packet 2 lies at the start of the data region, whole')
  const stats = ring.stats()
  t.equal(stats.heldPackets, 2, 'packet 1 survives: only packet 0 was overwritten')
  t.equal(stats.heldBytes, 800)
  const records = drain(reader)
  t.same(records.map((r) => r.seq), [1n, 2n], 'the reader lost packet 0 and went on at the next keyframe')
  t.equal(reader.stats().dropped.clip_slow, 1)
  t.throws(() => producer.write({ data: new Uint8Array(1025), keyframe: true, ptsUs: 0, dtsUs: 0, durationUs: 0, captureTsNs: 0n }), { code: 'RING_FRAME_TOO_LARGE' }, 'a packet larger than the whole data region is a named error')
})

t.test('a slow reader loses only its own packets, counted, and restarts at a keyframe; a fast one loses nothing', async (t) => {
  const ring = PacketRing.create({ dataBytes: 64 * 1024, indexEntries: 32 })
  const producer = ring.producer()
  const fast = ring.reader({ name: 'live_fast', start: 'next' })
  const slow = ring.reader({ name: 'recorder', start: 'next' })
  const fastRecords: PacketRecord[] = []
  const slowRecords: PacketRecord[] = []
  for (let seq = 0; seq < 200; seq++) {
    writePacket(producer, seq, 500, 10)
    fastRecords.push(...drain(fast))
    // The slow one reads a burst of 5 packets every 50: it falls 45 behind a 32-entry index.
    if (seq % 50 === 49) {
      for (let i = 0; i < 5; i++) {
        const r = slow.next()
        if (r) slowRecords.push({ ...r, data: r.data.slice() })
      }
    }
  }
  slowRecords.push(...drain(slow))
  t.same(fastRecords.map((r) => Number(r.seq)), [...Array(200).keys()], 'the fast reader got every packet in order')
  t.same(fast.stats().dropped, { live_fast_slow: 0, no_keyframe: 0 })
  const slowStats = slow.stats()
  t.ok(slowStats.dropped.recorder_slow! > 0, 'the slow reader lost packets')
  t.equal(slowStats.delivered + slowStats.dropped.recorder_slow!, 200, 'every packet is either delivered or counted as its own drop')
  t.equal(slowStats.dropped.no_keyframe, 0)
  t.equal(slowStats.lag, 0)
  let sawProblem = false
  for (let i = 0; i < slowRecords.length; i++) {
    const r = slowRecords[i]!
    if (payloadProblem(r.data, Number(r.seq)) !== null) sawProblem = true
    const previous = slowRecords[i - 1]
    // After any gap the first packet is a keyframe: a muxer never gets a delta frame after a hole.
    if (previous && r.seq !== previous.seq + 1n && !r.keyframe) sawProblem = true
  }
  t.equal(sawProblem, false, 'its records are intact, and after every gap it started at a keyframe')
  t.equal(slowRecords[0]?.seq, 20n, 'its first burst found 0..17 gone and began at keyframe 20')
})

t.test('start points: latest keyframe, at or before a capture time, next; seek', async (t) => {
  const ring = PacketRing.create({ dataBytes: 64 * 1024, indexEntries: 64 })
  const producer = ring.producer()
  const none = ring.reader({ name: 'early' })
  t.equal(none.next(), null, 'an empty ring gives nothing')
  for (let seq = 0; seq < 100; seq++) writePacket(producer, seq, 100, 10)
  // Held: 36..99 (the index keeps 64); keyframes 40, 50, ... 90.
  t.equal(ring.stats().keyframesHeld, 6)
  t.equal(ring.reader({ name: 'viewer' }).next()?.seq, 90n, 'a new live viewer starts at once from the newest keyframe')
  t.equal(ring.reader({ name: 'clip', start: { atOrBeforeCaptureNs: 65_500_000n } }).next()?.seq, 60n, 'a clip starts at the latest keyframe at or before its time')
  t.equal(ring.reader({ name: 'clip', start: { atOrBeforeCaptureNs: 70_000_000n } }).next()?.seq, 70n, 'a keyframe exactly at the time counts')
  t.equal(ring.reader({ name: 'clip', start: { atOrBeforeCaptureNs: 1_000_000n } }).next()?.seq, 40n, 'before everything held: the oldest keyframe held')

  const next = ring.reader({ name: 'recorder', start: 'next' })
  t.equal(next.next(), null, "'next' gives nothing already published")
  writePacket(producer, 100, 100, 10)
  writePacket(producer, 101, 100, 10)
  t.equal(next.next()?.seq, 100n, "'next' starts with the next keyframe published")
  const midGop = ring.reader({ name: 'late', start: 'next' })
  writePacket(producer, 102, 100, 10)
  t.equal(midGop.next(), null, 'a delta frame is never the first packet a reader gets')
  t.same(midGop.stats().dropped, { late_slow: 0, no_keyframe: 1 })

  const clip = ring.reader({ name: 'cutter' })
  t.equal(clip.next()?.seq, 100n)
  clip.seek({ atOrBeforeCaptureNs: 55_000_000n })
  t.same(drain(clip).map((r) => Number(r.seq)), [...Array(53).keys()].map((i) => 50 + i), 'seek restarts from a keyframe before the event and reads on from there')
  t.equal(clip.stats().dropped.cutter_slow, 0, 'what a seek passes over is not a drop')
  t.throws(() => clip.seek({ atOrBeforeCaptureNs: 5 } as never), { code: 'RING_INVALID_ARGUMENT' })
  t.throws(() => ring.reader({ name: 'Bad Name' }), { code: 'RING_INVALID_ARGUMENT', message: /packet reader name "Bad Name"/ })
})

t.test('stream() round trip; a new epoch makes readers resync to its first keyframe', async (t) => {
  const ring = PacketRing.create({ dataBytes: 64 * 1024, indexEntries: 64 })
  const other = PacketRing.attach(ring.buffer)
  t.equal(other.stream(), null, 'no stream before the producer described one')
  const producer = ring.producer()
  const sps = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff)
  t.equal(producer.setStream({ codec: 'hevc', width: 1920, height: 1080, fps: 59.94, codecConfig: sps }), 1)
  t.same(other.stream(), { epoch: 1, codec: 'hevc', width: 1920, height: 1080, fps: 59.94, codecConfig: sps }, 'another attachment reads the same description, 4 KiB of config included')
  t.throws(() => producer.setStream({ codec: 'hevc', width: 1920, height: 1080, fps: 30, codecConfig: new Uint8Array(4097) }), { code: 'RING_INVALID_ARGUMENT' })
  t.throws(() => producer.setStream({ codec: 'vp9' as never, width: 1920, height: 1080, fps: 30, codecConfig: new Uint8Array(0) }), { code: 'RING_INVALID_ARGUMENT' })

  const reader = other.reader({ name: 'recorder', start: 'next' })
  for (let seq = 0; seq < 15; seq++) writePacket(producer, seq, 200, 10)
  t.same(drain(reader).map((r) => r.epoch), Array(15).fill(1))
  // The camera reopens; its first packets are delta frames (a source that does not open on a keyframe).
  t.equal(producer.setStream({ codec: 'h264', width: 1280, height: 720, fps: 30, codecConfig: new Uint8Array([0, 0, 0, 1, 0x67, 0x42]) }), 2)
  t.equal(ring.epoch(), 2)
  for (let seq = 15; seq < 25; seq++) writePacket(producer, seq, 200, 20)
  const after = drain(reader)
  t.same(after.map((r) => [Number(r.seq), r.epoch, r.keyframe]), [20, 21, 22, 23, 24].map((s) => [s, 2, s === 20]), 'the reader resumed at the first keyframe of the new epoch, which the record reports')
  t.equal(reader.stats().dropped.no_keyframe, 5, 'the new epoch\'s packets before its keyframe are counted')
  t.same(other.stream(), { epoch: 2, codec: 'h264', width: 1280, height: 720, fps: 30, codecConfig: new Uint8Array([0, 0, 0, 1, 0x67, 0x42]) })
  t.equal(ring.stats().epoch, 2)
})

t.test('attach refuses what is not a packet ring of this build, with a named error', async (t) => {
  const ring = PacketRing.create({ dataBytes: 4096, indexEntries: 8 })
  const forged = (word: number, value: number): SharedArrayBuffer => {
    const copy = new SharedArrayBuffer(ring.buffer.byteLength)
    new Uint8Array(copy).set(new Uint8Array(ring.buffer))
    new Int32Array(copy)[word] = value
    return copy
  }
  t.throws(() => PacketRing.attach(forged(SHARED_BLOCK_HEADER.magic, 0x48525447)), { code: 'RING_LAYOUT_MISMATCH', message: /packet ring: wrong magic/ })
  t.throws(() => PacketRing.attach(forged(SHARED_BLOCK_HEADER.version, 99)), { code: 'RING_LAYOUT_MISMATCH', message: /layout version 99/ })
  t.throws(() => PacketRing.attach(forged(packetRingLayout.i32.indexEntries, 9)), { code: 'RING_LAYOUT_MISMATCH', message: /9 index entries/ })
  t.throws(() => PacketRing.attach(new ArrayBuffer(64)), { code: 'RING_LAYOUT_MISMATCH' })
  t.equal(new Int32Array(ring.buffer)[SHARED_BLOCK_HEADER.magic], PACKET_RING_MAGIC)
  t.ok(PacketRing.attach(ring.buffer) instanceof PacketRing)
  t.throws(() => PacketRing.create({ dataBytes: 100, indexEntries: 8 }), RingError)
  t.throws(() => PacketRing.create({ dataBytes: 4096, indexEntries: 1.5 }), { code: 'RING_INVALID_ARGUMENT' })
})

t.test('packetRingBytes sizes the ring for a bitrate and a pre-roll, with headroom', async (t) => {
  const sizing = packetRingBytes({ bitrateBps: 8_000_000, seconds: 12, fps: 30 })
  t.ok(sizing.dataBytes >= (8_000_000 / 8) * 12 * 1.5, 'room for 12 s at 8 Mbit/s, 50 % over')
  t.equal(sizing.dataBytes % 65536, 0)
  t.equal(sizing.indexEntries, 540)
  t.ok(PacketRing.create(sizing).buffer.byteLength > sizing.dataBytes)
  t.throws(() => packetRingBytes({ bitrateBps: 0, seconds: 12, fps: 30 }), { code: 'RING_INVALID_ARGUMENT', message: /bitrateBps/ })
})

t.test('wait() resolves when a packet is published and times out otherwise', async (t) => {
  const ring = PacketRing.create({ dataBytes: 4096, indexEntries: 8 })
  const producer = ring.producer()
  const reader = ring.reader({ name: 'viewer', start: 'next' })
  t.equal(await reader.wait(20), false, 'nothing published: it times out')
  const woken = reader.wait(5000)
  setTimeout(() => writePacket(producer, 0, 100), 10)
  t.equal(await woken, true)
  t.equal(await reader.wait(0), true, 'something unread: at once')
  t.equal(reader.next()?.seq, 0n)
})

t.test('two threads: a producer at full speed never makes the reader return a torn record', async (t) => {
  const PACKETS = 150_000
  const MAX_BYTES = 16 * 1024
  const POOL = 61
  // About 8 average packets fit the data region: the reader, which checksums every byte, lives at the overwrite edge.
  const ring = PacketRing.create({ dataBytes: 64 * 1024, indexEntries: 64 })
  const done = new SharedArrayBuffer(4)
  const reader = ring.reader({ name: 'checker', start: 'next' })
  const worker = new Worker(new URL('./fixtures/packet-producer-worker.js', import.meta.url), { workerData: { buffer: ring.buffer, packets: PACKETS, maxBytes: MAX_BYTES, gop: 4, pool: POOL, done } })
  t.teardown(() => worker.terminate())
  const finished = new Promise<number>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  const doneFlag = new Int32Array(done)
  const problems: string[] = []
  let delivered = 0
  let lastSeq = -1n
  let gapsNotAtKeyframe = 0
  for (;;) {
    const record = reader.next()
    if (!record) {
      if (Atomics.load(doneFlag, 0) === 1 && reader.stats().lag === 0) break
      await reader.wait(5)
      continue
    }
    delivered++
    const problem = payloadProblem(record.data, Number(record.seq))
    if (problem !== null && problems.length < 5) problems.push(`seq ${record.seq}: ${problem}`)
    if (record.data.byteLength !== payloadSize(Number(record.seq) % POOL, MAX_BYTES)) problems.push(`seq ${record.seq}: wrong length`)
    if (record.captureTsNs !== record.seq * 1_000_000n || record.ptsUs !== Number(record.seq) * 33_333) problems.push(`seq ${record.seq}: metadata of another packet`)
    if (record.seq <= lastSeq) problems.push(`seq ${record.seq} after ${lastSeq}`)
    if (record.seq !== lastSeq + 1n && !record.keyframe) gapsNotAtKeyframe++
    lastSeq = record.seq
  }
  t.equal(await finished, PACKETS)
  t.same(problems, [], 'every record returned was whole and its own')
  t.equal(gapsNotAtKeyframe, 0, 'after every gap the reader resumed at a keyframe')
  const stats = reader.stats()
  t.equal(stats.delivered, delivered)
  t.equal(stats.delivered + stats.dropped.checker_slow! + stats.dropped.no_keyframe!, PACKETS, 'delivered and dropped add up to what was published')
  t.ok(stats.dropped.checker_slow! > 0, `the producer overwrote records the reader wanted (${stats.dropped.checker_slow} dropped, ${delivered} delivered)`)
  t.ok(delivered > 100, 'and the reader still got plenty')
})

t.test('write() allocates nothing per packet, also once positions pass 2^31', async (t) => {
  v8.setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const ring = PacketRing.create({ dataBytes: 4 * 1024 * 1024, indexEntries: 256 })
  const producer = ring.producer()
  // The caller's packets are made up front (32 to 64 KiB): only write() itself is measured.
  const inputs: PacketInput[] = Array.from({ length: 16 }, (_, i) => ({ data: fillPayload(new Uint8Array(32768 + i * 2048), i), keyframe: i === 0, ptsUs: i, dtsUs: i, durationUs: 1, captureTsNs: BigInt(i) }))
  const newSpace = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size
  // Short-lived garbage, which is what a per-call allocation would be, lands
  // in the young generation; the old and code spaces also grow when the
  // optimising compiler installs code, in whichever round it finishes.
  const youngGrowthPerCall = (calls: number, body: (i: number) => unknown): number => {
    let most = 0
    for (let round = 0; round < 3; round++) {
      gc()
      const before = newSpace()
      for (let i = 0; i < calls; i++) body(i)
      most = Math.max(most, (newSpace() - before) / calls)
    }
    return most
  }
  const kept: unknown[] = []
  const control = youngGrowthPerCall(20_000, (i) => (kept[i & 15] = { i }))
  t.ok(control >= 8, `the measurement sees a loop that allocates one small object per call (${control.toFixed(1)} bytes/call)`)
  let written = 0
  for (let i = 0; written <= 2 ** 31; i++) written += inputs[producer.write(inputs[i & 15]!) & 15]!.data.byteLength
  const perWrite = youngGrowthPerCall(20_000, (i) => producer.write(inputs[i & 15]!))
  t.ok(perWrite < 0.5, `write() grew the young generation by at most ${perWrite.toFixed(3)} bytes per packet in 3 rounds of 20k writes`)
  t.ok(ring.stats().published > 100_000)
})
