// testsrc://: the built-in test camera. A real H.264 / H.265 clip, made once
// with FFmpeg's encoder and cached, decoded like any camera, looping at its
// own rate: the whole decode path without hardware.
import { defineSourceKind, type SourceBase } from './kind.js'
import type { Size, VideoCodec } from '../types.js'

export const DEFAULT_TEST_SIZE: Size = Object.freeze({ width: 1920, height: 1080 })
export const DEFAULT_TEST_FPS = 30
/** Length of the generated clip before it loops; native/src/spec.rs takes 1 to 60. */
const MAX_TEST_SECONDS = 60

export interface TestSource extends SourceBase { kind: 'testsrc'; size: Size; fps: number; codec: VideoCodec; seconds?: number }

export const testsrcKind = defineSourceKind<TestSource>({
  kind: 'testsrc',
  options: ['size', 'fps', 'codec', 'seconds'],
  example: 'testsrc://?size=1280x720&fps=60&codec=hevc',
  parse(u) {
    u.noHierarchy()
    // h265 is accepted as another name of hevc (what FFmpeg and the cameras call it).
    const codec = u.query.get('codec') === 'h265' ? 'hevc' : (u.word('codec', ['h264', 'hevc'] as const) ?? 'h264')
    const out: TestSource = {
      kind: 'testsrc', url: u.text, redacted: u.safe,
      size: u.size() ?? { ...DEFAULT_TEST_SIZE }, fps: u.fps() ?? DEFAULT_TEST_FPS, codec,
    }
    const seconds = u.integer('seconds', 1, MAX_TEST_SECONDS)
    if (seconds !== undefined) out.seconds = seconds
    return out
  },
  native(s) {
    return { kind: 'testsrc', target: '', redacted: s.redacted, width: s.size.width, height: s.size.height, fps: s.fps, codec: s.codec, seconds: s.seconds }
  },
})
