import t from 'tap'
import { computeBudget } from '../src/budget.js'
import { cameraCpuMsPerFrame, computeRigBudget, formatRigBudget, MEASURED_CPU_COSTS, type CameraBudgetRow } from '../src/budget-cameras.js'

const sumOf = (rows: readonly CameraBudgetRow[], pick: (row: CameraBudgetRow) => number): number => Math.round(rows.reduce((a, row) => a + pick(row), 0) * 1000) / 1000

t.test('totals are the sums of the cameras', async (t) => {
  const rig = computeRigBudget(
    [
      { name: 'front', width: 1920, height: 1080, fps: 30, codec: 'h264' },
      { name: 'rear', width: 1280, height: 720, fps: 30, codec: 'h264', depth: 4 },
      { name: 'nav', width: 1280, height: 720, fps: 60, codec: 'hevc', consumers: 1, bitrateMbps: 6 },
    ],
    { record: true, cores: 2 },
  )
  t.equal(rig.totals.cameras, 3)
  t.equal(rig.totals.ring_memory_mb, sumOf(rig.cameras, (c) => c.ring_memory_mb))
  t.equal(rig.totals.packet_ring_mb, sumOf(rig.cameras, (c) => c.packet_ring_mb))
  t.equal(rig.totals.memory_traffic_mb_s, sumOf(rig.cameras, (c) => c.memory_traffic_mb_s))
  t.equal(rig.totals.storage_gb_per_h, sumOf(rig.cameras, (c) => c.storage_gb_per_h))
  t.equal(rig.totals.cpu_cores, sumOf(rig.cameras, (c) => c.cpu_cores!))
  t.equal(rig.totals.memory_mb, Math.round((rig.totals.ring_memory_mb + rig.totals.packet_ring_mb) * 100) / 100)
  t.equal(rig.totals.cpu_share, Math.round((rig.totals.cpu_cores / 2) * 1000) / 1000)
  // Each camera's own figures are what computeBudget gives that camera alone.
  const rear = computeBudget({ width: 1280, height: 720, fps: 30, codec: 'h264', depth: 4 })
  t.equal(rig.cameras[1]!.ring_memory_mb, rear.ring_memory_mb)
  t.equal(rig.cameras[1]!.memory_traffic_mb_s, rear.memory_traffic_mb_s)
  t.equal(rig.cameras[2]!.wire_mbit_s, 6, 'a given bitrate wins')
  t.equal(rig.cameras[2]!.storage_gb_per_h, 2.7, '6 Mbit/s for an hour is 2.7 GB')
})

t.test('four 1080p30 H.264 cameras, checked against figures worked by hand', async (t) => {
  const rig = computeRigBudget(
    [1, 2, 3, 4].map((i) => ({ name: `cam${i}`, width: 1920, height: 1080, fps: 30, codec: 'h264' as const })),
    { record: true, cores: 2 },
  )
  const cam = rig.cameras[0]!
  // 1920 x 1080 x 1.5 bytes; (4 consumers + 2 spare) x (depth 2 + 1 lease) + 2 = 20 slots = 62.208 MB.
  t.equal(cam.bytes_per_frame, 3_110_400)
  t.equal(cam.ring_slots, 20)
  t.equal(cam.ring_memory_mb, 62.21)
  t.equal(rig.totals.ring_memory_mb, 248.84)
  // 3.110400 MB x 30 fps = 93.312 MB/s written; the copy reads it too and 4 consumers read it: x 6 = 559.872 MB/s.
  t.equal(cam.memory_traffic_mb_s, 559.87)
  t.equal(rig.totals.memory_traffic_mb_s, 2239.48)
  // 0.064 bit/pixel x 2,073,600 pixels x 30 fps = 3.981312 Mbit/s; an hour: 3.981312 x 3600 / 8000 = 1.7916 GB.
  t.equal(cam.wire_mbit_s, 3.98)
  t.equal(cam.storage_gb_per_h, 1.79)
  t.equal(rig.totals.storage_gb_per_h, 7.16)
  // Packet ring, recording: (5 s pre-roll + 4 s GOP + 2 s) x 3.981312 Mbit/s / 8 x 1.5 headroom = 8,211,456 B,
  // rounded up to 64 KiB: 126 x 65,536 = 8,257,536 B = 8.26 MB.
  t.equal(cam.packet_ring_mb, 8.26)
  t.equal(rig.totals.packet_ring_mb, 33.04)
  // CPU: 30 fps x (1.93 ms x 2.0736 MP + 0.92 ms motion) = 30 x 4.922 ms = 0.148 cores; four: 0.591 (the sum of rounded rows: 0.592).
  t.equal(cam.cpu_ms_per_frame, 4.922)
  t.equal(cam.cpu_cores, 0.148)
  t.equal(rig.totals.cpu_cores, 0.592)
  t.equal(rig.totals.cpu_share, 0.296)
})

t.test('without recording the packet ring holds a GOP + 2 s and nothing is stored', async (t) => {
  const live = computeRigBudget([{ name: 'main', fps: 30, bitrateMbps: 8 }], { record: false, cores: 2 })
  const recording = computeRigBudget([{ name: 'main', fps: 30, bitrateMbps: 8 }], { record: true, cores: 2 })
  // 6 s at 8 Mbit/s x 1.5 = 9 MB, rounded up to 64 KiB: 138 x 65,536 B.
  t.equal(live.cameras[0]!.packet_ring_mb, 9.04)
  t.ok(recording.cameras[0]!.packet_ring_mb > live.cameras[0]!.packet_ring_mb * 1.7, 'the 5 s pre-roll on top')
  t.equal(live.totals.storage_gb_per_h, 0)
  t.equal(recording.totals.storage_gb_per_h, 3.6, '8 Mbit/s for an hour')
})

t.test('the CPU estimate follows the measured costs, codec and motion', async (t) => {
  const hevc = cameraCpuMsPerFrame({ width: 1920, height: 1080, codec: 'hevc', motion: false })!
  t.equal(Math.round(hevc * 1000) / 1000, Math.round(MEASURED_CPU_COSTS.decodeMsPerMegapixelFrame.hevc! * 2.0736 * 1000) / 1000)
  t.ok(hevc > cameraCpuMsPerFrame({ width: 1920, height: 1080, codec: 'h264', motion: false })!, 'H.265 costs more than H.264')
  t.equal(cameraCpuMsPerFrame({ width: 640, height: 480, codec: 'mjpeg', motion: true }), null, 'MJPEG decode is not measured: no guess')
  const rig = computeRigBudget([{ name: 'a', codec: 'mjpeg' }, { name: 'b', fps: 30, motion: false }], { cores: 2 })
  t.same(rig.cpu_unmeasured, ['a'])
  t.equal(rig.cameras[0]!.cpu_cores, null)
  t.equal(rig.totals.cpu_cores, rig.cameras[1]!.cpu_cores, 'the total counts the measured cameras')
})

t.test('a bad rig is refused naming the camera', async (t) => {
  t.throws(() => computeRigBudget([]), /at least one camera/)
  t.throws(() => computeRigBudget([{ name: 'Front' }]), /camera name "Front" may have only lower-case letters/)
  t.throws(() => computeRigBudget([{ name: 'a' }, { name: 'a' }]), /camera "a" is listed twice/)
  t.throws(() => computeRigBudget([{ name: 'rear', fps: 0 }]), /camera "rear": fps must be above 0/)
  t.throws(() => computeRigBudget([{ name: 'a' }], { cores: 0 }), /cores must be a whole number/)
})

t.test('the text fits 80 columns for four cameras and names every camera', async (t) => {
  const rig = computeRigBudget(
    [
      { name: 'front_left', width: 3840, height: 2160, fps: 60, codec: 'hevc' },
      { name: 'front_right', width: 3840, height: 2160, fps: 60, codec: 'hevc' },
      { name: 'rear', width: 1280, height: 720, fps: 60 },
      { name: 'usb', width: 640, height: 480, fps: 15, codec: 'mjpeg' },
    ],
    { record: true, cores: 2 },
  )
  const text = formatRigBudget(rig)
  for (const line of text.split('\n')) t.ok(line.length <= 80, `${line.length} columns: ${line}`)
  for (const name of ['front_left', 'front_right', 'rear', 'usb']) t.match(text, new RegExp(`^${name} `, 'm'))
  t.match(text, /^total {2,}4 cameras/m)
  t.match(text, /not counted \(MJPEG decode not measured\): usb/)
  t.match(text, /does not fit/, 'two 4K60 H.265 cameras do not fit 2 cores')
})
