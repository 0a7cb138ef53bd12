// file:///path: a media file, played once (or looped) as fast as it decodes
// or at its timestamps' pace (realtime=1, to stand in for a live camera).
import { defineSourceKind, type SourceBase } from './kind.js'

export interface FileSource extends SourceBase { kind: 'file'; path: string; loop: boolean; realtime: boolean }

export const fileKind = defineSourceKind<FileSource>({
  kind: 'file',
  options: ['loop', 'realtime'],
  example: 'file:///videos/clip.mp4?loop=1&realtime=1',
  parse(u) {
    const path = u.absolutePath(`File URLs have three slashes and an absolute path: file:///videos/${u.hierarchy.split('/').pop() || 'clip.mp4'}`)
    return { kind: 'file', url: u.text, redacted: u.safe, path, loop: u.flag('loop', false), realtime: u.flag('realtime', false) }
  },
  native(s) {
    return { kind: 'file', target: s.path, redacted: s.redacted, loop: s.loop, realtime: s.realtime }
  },
})
