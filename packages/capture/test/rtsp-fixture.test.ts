// The test fixtures themselves: the GStreamer RTSP server really serves the
// generated H.264 and H.265 clips (checked with ffprobe, independent of our
// decoder), and the corruption helper damages slices without breaking NAL
// structure.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { clip, corruptSlices } from './support/media.js'
import { startRtspServer } from './support/rtsp-server.js'

const run = promisify(execFile)

async function ffprobe(url: string): Promise<{ codec_name: string; width: number; height: number; r_frame_rate: string }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,r_frame_rate', '-of', 'json', url], { timeout: 15_000 })
  return JSON.parse(stdout).streams[0]
}

t.test('the RTSP server serves H.264 and H.265 clips', async (t) => {
  const [h264, h265] = await Promise.all([
    clip({ codec: 'h264', width: 640, height: 360, fps: 30, seconds: 10 }),
    clip({ codec: 'hevc', width: 640, height: 360, fps: 30, seconds: 10 }),
  ])
  const server = await startRtspServer({ mounts: { '/h264': h264, '/h265': h265 } })
  t.teardown(() => server.stop())
  t.match(await ffprobe(server.url('/h264')), { codec_name: 'h264', width: 640, height: 360, r_frame_rate: '30/1' })
  t.match(await ffprobe(server.url('/h265')), { codec_name: 'hevc', width: 640, height: 360 })
  await t.rejects(ffprobe(server.url('/missing')), /404/)
  await server.stop()
  await t.rejects(ffprobe(server.url('/h264')), 'stopped means gone')
  await server.stop() // idempotent
})

t.test('a port already in use is reported with the server stderr', async (t) => {
  const file = await clip({ codec: 'h264', width: 640, height: 360, fps: 30, seconds: 10 })
  const first = await startRtspServer({ mounts: { '/a': file } })
  t.teardown(() => first.stop())
  await t.rejects(startRtspServer({ mounts: { '/a': file }, port: first.port }), /RTSP test server exited early[\s\S]*could not listen/)
})

t.test('corruptSlices flips bytes in non-key slices only, keeping start codes', async (t) => {
  // Two H.264 NALs: an IDR (type 5) and a non-IDR slice (type 1), 100 bytes each.
  const nal = (type: number): number[] => [0, 0, 0, 1, type, ...Array.from({ length: 100 }, (_, i) => (i % 250) + 4)]
  const data = Uint8Array.from([...nal(0x65), ...nal(0x41), ...nal(0x41)])
  const before = data.slice()
  t.equal(corruptSlices(data, 'h264', 2), 1, 'every 2nd non-key slice')
  t.same(data.subarray(0, 210), before.subarray(0, 210), 'the IDR and the first slice are untouched')
  t.not(Buffer.compare(data, before), 0)
  const zeros = (a: Uint8Array): number => a.reduce((n, b) => n + (b === 0 ? 1 : 0), 0)
  t.equal(zeros(data), zeros(before), 'no zero byte created or removed')
  const hevc = Uint8Array.from([0, 0, 1, 0x02, 0x01, ...Array.from({ length: 80 }, () => 0x20)])
  t.equal(corruptSlices(hevc, 'hevc', 1), 1, 'HEVC TRAIL_R slices count')
})
