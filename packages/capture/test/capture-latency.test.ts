// Latency on a 1080p60 H.264 RTSP stream (8 Mbit/s, like the ViewPro A40 at
// its 60 fps setting): packet receipt (the native demuxer's stamp) to
// publish in the ring, p50 / p99. The goal is p99 <= 15 ms; this prints the
// figures rather than asserting them, because a busy 2-core CI machine is no
// place for timing asserts. Set HEART_LATENCY_JSON=FILE to keep them.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { clip } from './support/media.js'
import { startRtspServer } from './support/rtsp-server.js'
import { startCapture } from './support/harness.js'

const MEASURE_MS = Number(process.env.HEART_LATENCY_MS ?? 10_000)

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

t.test('1080p60 RTSP: receive-to-publish latency', async (t) => {
  const file = await clip({ codec: 'h264', width: 1920, height: 1080, fps: 60, seconds: 30, bitrateKbps: 8000 })
  const server = await startRtspServer({ mounts: { '/cam': file } })
  t.teardown(() => server.stop())
  const h = startCapture({ source: server.url('/cam'), expect: { maxSize: '1920x1080' } })
  t.teardown(() => h.teardown())
  await h.until('streaming', () => h.frames.length >= 60, 20_000)
  const skip = h.frames.length // the first second includes the open and the decoder's warm-up
  const start = performance.now()
  await h.until('the measurement window', () => performance.now() - start >= MEASURE_MS, MEASURE_MS + 5000) // drains as it polls
  const frames = h.frames.slice(skip)
  const latencies = frames.map((f) => Number(f.publishTsNs - f.captureTsNs) / 1e6).sort((a, b) => a - b)
  const health = h.health()
  const figures = {
    frames: frames.length,
    fps: Math.round((frames.length / MEASURE_MS) * 1000 * 10) / 10,
    receive_to_publish_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
    decode_ms: { p50: health.decode_ms_p50, p99: health.decode_ms_p99, first_frame: health.decode_ms_first_frame },
    decode_errors_total: health.decode_errors_total,
    backend: health.backend,
  }
  t.comment(JSON.stringify(figures))
  if (process.env.HEART_LATENCY_JSON) writeFileSync(process.env.HEART_LATENCY_JSON, JSON.stringify(figures, null, 2))
  t.ok(frames.length > 0, 'frames were measured')
  t.ok(latencies.every((x) => x >= 0 && Number.isFinite(x)), 'every frame published after its receipt')
  t.equal(health.width, 1920)
  t.equal(health.height, 1080)
})
