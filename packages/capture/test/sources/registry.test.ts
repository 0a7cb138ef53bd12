import t from 'tap'
import { MAX_SOURCE_LENGTH, parseSource } from '../../src/sources/registry.js'
import { parseSize } from '../../src/sources/url.js'
import type { CaptureError } from '../../src/errors.js'

function failure(url: string): CaptureError {
  try {
    parseSource(url)
  } catch (err) {
    return err as CaptureError
  }
  throw new Error(`expected ${url} to be rejected`)
}

t.test('rtsp with credentials, default port and TCP', async (t) => {
  const s = parseSource('rtsp://admin:s3cret@192.168.1.20/stream1')
  t.equal(s.kind, 'rtsp')
  if (s.kind !== 'rtsp') return
  t.equal(s.host, '192.168.1.20')
  t.equal(s.port, 554)
  t.equal(s.path, '/stream1')
  t.equal(s.transport, 'tcp')
  t.equal(s.hasCredentials, true)
  t.equal(s.url, 'rtsp://admin:s3cret@192.168.1.20/stream1', 'the decoder gets the real URL')
  t.notMatch(s.redacted, /admin|s3cret/, 'the printable form has no credentials')
})

t.test('rtsp port, udp, IPv6, passwords with @ and camera query parameters', async (t) => {
  const a = parseSource('rtsp://cam.local:8554/live?transport=udp')
  t.match(a, { kind: 'rtsp', host: 'cam.local', port: 8554, transport: 'udp', hasCredentials: false })
  const b = parseSource('rtsp://[::1]:8554/x')
  t.match(b, { host: '::1', port: 8554 })
  const c = parseSource('rtsp://u:p@ss@host:10554/cam/realmonitor?channel=1&subtype=0')
  t.match(c, { host: 'host', port: 10554, path: '/cam/realmonitor', hasCredentials: true })
  t.notMatch(c.redacted, /p@ss/)
  t.match(parseSource('rtsp://host'), { path: '/' })
})

t.test('rtsp reorderMs: UDP only, a whole number of ms, never sent to the camera', async (t) => {
  const s = parseSource('rtsp://host/x?transport=udp&reorderMs=20&channel=1')
  t.match(s, { kind: 'rtsp', transport: 'udp', reorderMs: 20 })
  t.notOk('reorderMs' in parseSource('rtsp://host/x?transport=udp'), 'absent: FFmpeg keeps its default')
  t.match(failure('rtsp://host/x?reorderMs=20'), { code: 'INVALID_SOURCE', message: /without transport=udp/ })
  t.match(failure('rtsp://host/x?transport=udp&reorderMs=-1'), { message: /reorderMs=-1.*0 to 10000/ })
  t.match(failure('rtsp://host/x?transport=udp&reorderMs=20000'), { message: /reorderMs=20000/ })
})

t.test('rtsp mistakes are explained', async (t) => {
  t.match(failure('rtsp://host:99999/x'), { code: 'INVALID_SOURCE', message: /port "99999".*1 to 65535/ })
  t.match(failure('rtsp://host/x?transport=http'), { message: /transport=tcp .*or transport=udp/ })
  t.match(failure('rtsp://host/x?transprot=udp'), { message: /Did you mean "transport"/ })
  t.match(failure('rtsp:///x'), { message: /no host/ })
  t.match(failure('rtsp://[::1/x'), { message: /IPv6/ })
  t.match(failure('rtsp://u:pw@host:abc/x'), { message: /port "abc"/ })
  t.notMatch(failure('rtsp://u:hunter2@host:abc/x').message, /hunter2/, 'errors never echo passwords')
})

t.test('scheme typos and missing schemes', async (t) => {
  t.match(failure('rstp://host/x'), { message: /Did you mean rtsp:\/\// })
  t.match(failure('http://host/x'), { message: /unknown scheme "http:\/\/".*Supported: rtsp, file, v4l2, testsrc, synthetic/ })
  t.match(failure('/videos/a.mp4'), { message: /file:\/\/\/videos\/a.mp4/ })
  t.match(failure('camera1'), { message: /Start it with one of/ })
  t.match(failure(''), { message: /empty source URL/ })
})

t.test('file URLs', async (t) => {
  t.match(parseSource('file:///data/clip%20one.mp4?loop=1&realtime=true'), { kind: 'file', path: '/data/clip one.mp4', loop: true, realtime: true })
  t.match(parseSource('file:///a.mp4'), { loop: false, realtime: false })
  t.match(failure('file://clip.mp4'), { message: /three slashes.*file:\/\/\/videos\/clip.mp4/ })
  t.match(failure('file:///a.mp4?loop=yes'), { message: /loop=1 or loop=0/ })
  t.match(failure('file:///a.mp4?lop=1'), { message: /Did you mean "loop"/ })
  t.match(failure('file:///a.mp4?speed=2'), { message: /unknown option "speed".*understands loop, realtime/ })
  t.match(failure('file:///a.mp4?loop=1&loop=0'), { message: /given twice/ })
  t.match(failure('file:///bad%zz.mp4'), { message: /percent-escape/ })
})

t.test('v4l2 URLs', async (t) => {
  t.same(
    { ...parseSource('v4l2:///dev/video0?format=mjpeg&size=1280x720&fps=60'), url: '', redacted: '' },
    { kind: 'v4l2', device: '/dev/video0', format: 'mjpeg', size: { width: 1280, height: 720 }, fps: 60, url: '', redacted: '' },
  )
  t.match(parseSource('v4l2:///dev/video2'), { device: '/dev/video2' })
  t.match(failure('v4l2://video0'), { message: /v4l2:\/\/\/dev\/video0/ })
  t.match(failure('v4l2:///dev/video0?format=rgb'), { message: /format=mjpeg, format=yuyv or format=h264/ })
  t.match(failure('v4l2:///dev/video0?fps=0'), { message: /frame rate above 0/ })
  t.match(failure('v4l2:///dev/video0?fps=abc'), { message: /fps=abc/ })
  t.match(failure('v4l2:///dev/video0?fps=1000'), { message: /at most 240/ })
})

t.test('testsrc and synthetic', async (t) => {
  t.match(parseSource('testsrc://'), { kind: 'testsrc', size: { width: 1920, height: 1080 }, fps: 30, codec: 'h264' })
  t.match(parseSource('testsrc://?size=640x360&fps=60&codec=h265'), { size: { width: 640, height: 360 }, fps: 60, codec: 'hevc' })
  t.match(parseSource('synthetic://?size=1280x720&fps=60'), { kind: 'synthetic', size: { width: 1280, height: 720 }, fps: 60 })
  t.match(failure('testsrc://?codec=vp9'), { message: /codec=h264 or codec=hevc/ })
  t.match(failure('testsrc://cam'), { message: /takes options only/ })
  t.match(failure('synthetic://?szie=640x480'), { message: /Did you mean "size"/ })
})

t.test('sizes', async (t) => {
  t.same(parseSize('640x480'), { width: 640, height: 480 })
  t.same(parseSize('640X480'), { width: 640, height: 480 })
  t.throws(() => parseSize('640*480'), /WIDTHxHEIGHT/)
  t.throws(() => parseSize('641x480'), /even width and height/)
  t.throws(() => parseSize('8x8'), /between 16 and 8192/)
  t.throws(() => parseSize('10000x480'), /between 16 and 8192/)
})

t.test('a source longer than the longest path is refused by its length, with any password hidden', async (t) => {
  const atLimit = 'file:///' + 'd/'.repeat(Math.floor((MAX_SOURCE_LENGTH - 'file:///'.length - 'a.mp4'.length) / 2)) + 'a.mp4'
  t.ok(atLimit.length <= MAX_SOURCE_LENGTH && atLimit.length > MAX_SOURCE_LENGTH - 8, `${atLimit.length} characters`)
  t.equal(parseSource(atLimit).kind, 'file', 'a path of up to the limit is a source')
  const long = 'rtsp://admin:s3cret@10.0.0.2/' + 'x'.repeat(MAX_SOURCE_LENGTH)
  const err = (() => {
    try {
      parseSource(long)
    } catch (e) {
      return e as CaptureError
    }
    throw new Error('accepted')
  })()
  t.equal(err.code, 'INVALID_SOURCE')
  t.match(err.message, new RegExp(`is ${long.length} characters long.*at most ${MAX_SOURCE_LENGTH}`))
  t.notMatch(err.message, /s3cret/, 'the password is not in the message')
  t.ok(err.message.length < 400, `the message is ${err.message.length} characters`)
})
