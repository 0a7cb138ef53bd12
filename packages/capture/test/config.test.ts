import t from 'tap'
import { resolveCaptureConfig } from '../src/config.js'

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
