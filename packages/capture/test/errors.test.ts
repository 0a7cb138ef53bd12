import t from 'tap'
import { CaptureError, nativeUnavailable, reachabilityOf, slotTooSmall, stalled, streamEnded, wrapNativeError } from '../src/errors.js'

t.test('native errors keep their code and lose their credentials', async (t) => {
  const native = Object.assign(new Error('AUTH_FAILED: 401 from rtsp://admin:hunter2@cam/s1 (user admin)'), { code: 'AUTH_FAILED' })
  const e = wrapNativeError(native, ['admin', 'hunter2'])
  t.type(e, CaptureError)
  t.equal(e.code, 'AUTH_FAILED')
  t.notMatch(e.message, /hunter2|admin/)
  t.equal(e.cause, undefined, 'the raw native error is not kept as cause')
  t.equal(wrapNativeError(new Error('boom')).code, 'UNKNOWN')
  t.equal(wrapNativeError(Object.assign(new Error('x'), { name: 'AbortError' })).code, 'ABORTED')
  t.equal(wrapNativeError('plain string').message, 'plain string')
  t.equal(wrapNativeError(new CaptureError('STALLED', 'rtsp://u:p@h/ stalled'), []).message, 'rtsp://***@h/ stalled')
})

t.test('what a failure says about reachability', async (t) => {
  t.equal(reachabilityOf('CONNECT_REFUSED'), false)
  t.equal(reachabilityOf('CONNECT_FAILED'), false)
  t.equal(reachabilityOf('STREAM_NOT_FOUND'), true)
  t.equal(reachabilityOf('AUTH_FAILED'), true)
  t.equal(reachabilityOf('STALLED'), undefined)
  t.equal(reachabilityOf('TIMEOUT'), undefined)
})

t.test('factories', async (t) => {
  t.match(stalled('rtsp://cam', 2000), { code: 'STALLED', message: /2000 ms.*stallTimeoutMs/ })
  t.match(streamEnded('file:///a.mp4'), { code: 'STREAM_ENDED' })
  t.match(slotTooSmall('cam', 100, 50, 10, 10), { code: 'SLOT_TOO_SMALL', message: /maxSize/ })
  t.match(nativeUnavailable(new Error('x')), { code: 'NATIVE_UNAVAILABLE', message: /build:native/ })
})
