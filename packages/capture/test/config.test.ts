import t from 'tap'
import { resolveCaptureConfig, ringFrameSize } from '../src/config.js'

t.test('defaults', async (t) => {
  const c = resolveCaptureConfig({ source: 'rtsp://cam/s1' })
  t.match(c, {
    expect: { maxSize: { width: 1920, height: 1080 } }, pixFmt: 'yuv420p', stallTimeoutMs: 2000, redAfterMs: 3000,
    reconnect: { initialMs: 1000, maxMs: 30000 }, decoder: 'auto',
  })
  t.notOk('codec' in c.expect)
})

t.test('expectations in either spelling', async (t) => {
  t.match(resolveCaptureConfig({ source: 'rtsp://cam/s1', expect: { codec: 'h265', maxSize: '1280x720' } }).expect, { codec: 'hevc', maxSize: { width: 1280, height: 720 } })
  t.match(resolveCaptureConfig({ source: 'rtsp://cam/s1', expect: { maxSize: { width: 640, height: 360 } } }).expect, { maxSize: { width: 640, height: 360 } })
})

t.test('bad fields are named', async (t) => {
  t.throws(() => resolveCaptureConfig({ source: 'rstp://cam' }), { code: 'INVALID_SOURCE' })
  t.throws(() => resolveCaptureConfig({ source: 'rtsp://cam', expect: { codec: 'vp8' as 'h264' } }), { code: 'INVALID_CONFIG', message: /expect.codec/ })
  t.throws(() => resolveCaptureConfig({ source: 'rtsp://cam', expect: { maxSize: '1920by1080' } }), { message: /expect.maxSize.*WIDTHxHEIGHT/ })
  t.throws(() => resolveCaptureConfig({ source: 'rtsp://cam', pixFmt: 'yuv444p' as 'nv12' }), { message: /pixFmt/ })
  t.throws(() => resolveCaptureConfig({ source: 'rtsp://cam', stallTimeoutMs: 0 }), { message: /stallTimeoutMs/ })
  t.throws(() => resolveCaptureConfig({ source: 'rtsp://cam', decodeThreads: 1.5 }), { message: /decodeThreads/ })
  t.throws(() => resolveCaptureConfig({ source: 'rtsp://cam', decoder: 'gpu' as 'auto' }), { message: /decoder/ })
  t.throws(() => resolveCaptureConfig({ source: 'rtsp://cam', reconnect: { maxMs: 10 } }), { message: /reconnect/ })
})

t.test('output and fpsCap: resolved for the native source, and the ring frame they need', async (t) => {
  const whole = resolveCaptureConfig({ source: 'rtsp://cam/s1', expect: { maxSize: '1280x720' } })
  t.same(whole.output, {}, 'no output: the whole frame')
  t.same(ringFrameSize(whole), { width: 1280, height: 720 }, 'whose slots are expect.maxSize')
  const cropped = resolveCaptureConfig({ source: 'rtsp://cam/s1', output: { crop: { x: 100, width: 640, height: 360 } }, fpsCap: 5 })
  t.same(cropped.output, { crop: { x: 100, y: 0, width: 640, height: 360 } })
  t.equal(cropped.fpsCap, 5)
  t.same(ringFrameSize(cropped), { width: 640, height: 360 }, 'a crop: slots of the crop')
  const scaled = resolveCaptureConfig({ source: 'rtsp://cam/s1', output: { width: 320, height: 180, crop: { width: 640, height: 360 } } })
  t.same(ringFrameSize(scaled), { width: 320, height: 180 }, 'a size: slots of the size, whatever the crop')
  t.throws(() => resolveCaptureConfig({ source: 'rtsp://cam', output: { crop: { x: 1800, width: 320, height: 240 } } }), { code: 'INVALID_CONFIG', message: /output.crop: 320x240 at 1800,0 reaches outside expect.maxSize 1920x1080/ })
  t.throws(() => resolveCaptureConfig({ source: 'synthetic://?size=320x240&fps=30', fpsCap: 10 }), { code: 'INVALID_CONFIG', message: /synthetic:\/\/ draws its frames at \?size and \?fps/ })
})
