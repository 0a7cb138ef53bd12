// udp://HOST:PORT: an MPEG-TS (or raw H.264 / H.265) stream pushed over UDP,
// what many drone downlinks and encoders send. HOST is the address heart
// listens on: 127.0.0.1 for this machine only, a group such as 239.0.0.1 for
// multicast, 0.0.0.0 for every interface (said out loud, never a default).
// FFmpeg's own protocol opens it, through the crate's generic stream kind.
import { invalidSource } from '../errors.js'
import { defineSourceKind, type SourceBase } from './kind.js'

const FORMATS = ['mpegts', 'h264', 'hevc'] as const
/** Room for bursts: a 1080p keyframe is hundreds of datagrams (the same figure as RTSP over UDP). */
const SOCKET_BUFFER_BYTES = '4194304'

export interface UdpSource extends SourceBase {
  kind: 'udp'
  host: string
  port: number
  format: (typeof FORMATS)[number]
}

export const udpKind = defineSourceKind<UdpSource>({
  kind: 'udp',
  options: ['format'],
  example: 'udp://127.0.0.1:5600?format=mpegts',
  parse(u) {
    const m = /^([^/:[\]]+|\[[0-9a-fA-F:.]+\]):(\d{1,5})\/?$/.exec(u.hierarchy)
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw invalidSource(`"${u.safe}" is not udp://HOST:PORT`, 'Write udp://127.0.0.1:5600 (this machine), udp://239.0.0.1:5600 (a multicast group) or udp://0.0.0.0:5600 (every interface)')
    }
    return { kind: 'udp', url: u.text, redacted: u.safe, host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), format: u.word('format', FORMATS) ?? 'mpegts' }
  },
  native(s) {
    const multicast = /^(22[4-9]|23\d)\./.test(s.host) || s.host.toLowerCase().startsWith('ff')
    const host = s.host.includes(':') ? `[${s.host}]` : s.host
    return {
      kind: 'stream',
      target: `udp://${host}:${s.port}`,
      redacted: s.redacted,
      inputFormat: s.format,
      avOptions: {
        buffer_size: SOCKET_BUFFER_BYTES,
        // A burst that overruns FFmpeg's queue costs packets (counted as decode errors), not the stream.
        overrun_nonfatal: '1',
        // Listen on the address given, not on every interface (FFmpeg binds multicast groups itself).
        ...(multicast ? {} : { localaddr: s.host }),
      },
    }
  },
})
