// A viewer for tests that need the encoder working: the hub (and so the
// encoder) works only while someone watches. It takes every part and keeps
// none.

import { Writable } from 'node:stream'
import type { MjpegHub, ViewerHandle } from '../../src/mjpeg-hub.js'

export function watch(hub: MjpegHub): ViewerHandle {
  const sink = new Writable({
    write(_chunk, _encoding, done) {
      done()
    },
  })
  return hub.addViewer(sink)
}
