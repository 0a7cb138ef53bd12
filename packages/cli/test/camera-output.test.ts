// Per-camera negotiation from the config (issue 15: "frame formats, crop
// regions, and trigger rate"): camera.output's crop and size and fpsCap reach
// the native source, the ring's slots are sized from what it will hold, and
// the frames published have that geometry and rate. The pixels of a crop
// and a scale are checked against the FFmpeg CLI in native/test/pixels.test.ts.
import t from 'tap'
import { join } from 'node:path'
import { silentLogger, type HealthReport } from '@heart/kernel'
import { frameLayout } from '@heart/ring'
import { waitFor } from '@heart/telemetry/testing'
import { runHeart } from '../src/run.js'

t.test('output crop and size and fpsCap shape each camera\'s frames and size its ring', async (t) => {
  const config = join(
    t.testdir({
      'heart.yaml':
        [
          'http: { port: 0 }',
          'thermal: { enabled: false }',
          'consumers: [{ name: movement_detector, kind: motion }]',
          'cameras:',
          '  whole: { source: "testsrc://?size=640x360&fps=30", expect: { maxSize: 640x360 } }',
          '  scaled: { source: "testsrc://?size=640x360&fps=30", expect: { maxSize: 640x360 }, output: { width: 320, height: 180 } }',
          '  cropped: { source: "testsrc://?size=640x360&fps=30", expect: { maxSize: 640x360 }, output: { crop: { x: 160, y: 90, width: 320, height: 180 } }, fpsCap: 10 }',
        ].join('\n') + '\n',
    }),
    'heart.yaml',
  )
  const heart = await runHeart({ configFile: config, status: false, logger: silentLogger, durationS: 60 })
  t.teardown(() => heart.stop())
  const base = `http://127.0.0.1:${heart.http.port}`
  const health = async (): Promise<HealthReport> => (await (await fetch(`${base}/health`)).json()) as HealthReport
  // Two seconds of frames after each camera's first: enough for a rate within a frame or two.
  const delivered = (h: HealthReport, name: string): number => h.cameras?.[name]?.consumers.movement_detector?.delivered ?? 0
  await waitFor(async () => {
    const h = await health()
    return ['whole', 'scaled'].every((name) => delivered(h, name) >= 60) && delivered(h, 'cropped') >= 20
  }, 'every camera streaming for two seconds', () => health())
  const startedAt = performance.now()
  const before = await health()
  await new Promise((r) => setTimeout(r, 3000))
  const after = await health()
  const seconds = (performance.now() - startedAt) / 1000
  const rate = (name: string): number => (delivered(after, name) - delivered(before, name)) / seconds

  // What the ring holds: a frame taken from each camera's ring by a reader of the test's own (a spare place).
  const geometry = (name: string): string => {
    const reader = heart.cameras.find((c) => c.name === name)!.capture.ring.consumer('test_reader')
    try {
      const lease = reader.acquire(2000)
      if (!lease) return 'no frame'
      reader.release(lease)
      return `${lease.width}x${lease.height}`
    } finally {
      reader.leave()
    }
  }
  t.equal(geometry('whole'), '640x360', 'no output: the whole frame at its size')
  t.equal(geometry('scaled'), '320x180', 'output.width and height: scaled in the copy')
  t.equal(geometry('cropped'), '320x180', 'output.crop: the region kept')
  // Health says what the camera sends, whatever the ring keeps of it.
  const sent = after.cameras!.cropped as unknown as { width: number; height: number }
  t.equal(`${sent.width}x${sent.height}`, '640x360', 'health reports the stream\'s own size')

  const slotBytes = (name: string): number => heart.cameras.find((c) => c.name === name)!.capture.ring.slotBytes
  t.equal(slotBytes('whole'), frameLayout(640, 360, 'yuv420p').byteLength, 'a whole-frame ring has slots of expect.maxSize')
  t.equal(slotBytes('scaled'), frameLayout(320, 180, 'yuv420p').byteLength, 'a scaled camera\'s slots hold the output size, a quarter of the source')
  t.equal(slotBytes('cropped'), frameLayout(320, 180, 'yuv420p').byteLength, 'a cropped camera\'s slots hold the crop')

  // Bounds wide enough for a loaded 2-core box, narrow enough that no cap (30 fps) or a cap of half (15) fails.
  t.ok(rate('whole') > 20, `the uncapped camera delivers its 30 fps (${rate('whole').toFixed(1)})`)
  t.ok(rate('cropped') > 6 && rate('cropped') < 13, `fpsCap 10 delivers about 10 fps (${rate('cropped').toFixed(1)})`)
  t.equal(after.cameras!.cropped!.consumers.movement_detector!.dropped.movement_detector_slow, 0, 'the capped frames are skipped at the source, not dropped by the consumer')
})
