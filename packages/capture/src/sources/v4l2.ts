// v4l2:///dev/videoN: a USB or CSI camera through Video4Linux2. The format,
// size and rate are asked of the device itself.
import { access } from 'node:fs/promises'
import { invalidSource } from '../errors.js'
import { defineSourceKind, type SourceBase } from './kind.js'
import type { Size } from '../types.js'

const FORMATS = ['mjpeg', 'yuyv', 'h264'] as const

export interface V4l2Source extends SourceBase {
  kind: 'v4l2'
  device: string
  format?: (typeof FORMATS)[number]
  size?: Size
  fps?: number
}

export const v4l2Kind = defineSourceKind<V4l2Source>({
  kind: 'v4l2',
  options: ['format', 'size', 'fps'],
  example: 'v4l2:///dev/video0?format=mjpeg&size=1280x720&fps=30',
  parse(u) {
    if (!u.hierarchy.startsWith('/dev/')) {
      throw invalidSource(`"${u.safe}" does not name a device`, 'Write v4l2:///dev/video0 (three slashes, then the device path)')
    }
    const out: V4l2Source = { kind: 'v4l2', url: u.text, redacted: u.safe, device: u.hierarchy }
    const format = u.word('format', FORMATS)
    if (format !== undefined) out.format = format
    const size = u.size()
    if (size) out.size = size
    const fps = u.fps()
    if (fps !== undefined) out.fps = fps
    return out
  },
  native(s) {
    return { kind: 'v4l2', target: s.device, redacted: s.redacted, format: s.format, width: s.size?.width, height: s.size?.height, fps: s.fps }
  },
  reachable(s) {
    // A USB camera that was unplugged comes back as its device node.
    return () => access(s.device).then(() => true, () => false)
  },
})
