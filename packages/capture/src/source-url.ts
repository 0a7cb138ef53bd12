// Parsing and validation of source URLs (DESIGN.md, "Sources"). Everything a
// user can mistype is checked here, before any thread or socket exists, and
// each error says what was wrong and what would be right.
import { closest } from '@heart/kernel'
import { invalidSource } from './errors.js'
import { redactUrl } from './redact.js'
import type {
  FileSource, RtspSource, Size, SourceKind, SourceSpec, SyntheticSource, TestSource, V4l2Source, VideoCodec,
} from './types.js'

const SCHEMES: readonly SourceKind[] = ['rtsp', 'file', 'v4l2', 'testsrc', 'synthetic']
const RTSP_DEFAULT_PORT = 554
const MAX_DIMENSION = 8192
const MAX_FPS = 240

export const DEFAULT_TEST_SIZE: Size = { width: 1920, height: 1080 }
export const DEFAULT_TEST_FPS = 30

/** Options each scheme understands. RTSP passes unknown ones through to the camera. */
const OPTIONS: Record<SourceKind, readonly string[]> = {
  rtsp: ['transport'],
  file: ['loop', 'realtime'],
  v4l2: ['format', 'size', 'fps'],
  testsrc: ['size', 'fps', 'codec'],
  synthetic: ['size', 'fps'],
}

export function parseSource(input: string): SourceSpec {
  if (typeof input !== 'string' || input.trim() === '') {
    throw invalidSource('empty source URL', `Give one of ${SCHEMES.map((s) => `${s}://`).join(', ')}`)
  }
  const url = input.trim()
  const safe = redactUrl(url)
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(url)
  if (!m) {
    const looksLikePath = url.startsWith('/') || url.startsWith('.')
    throw invalidSource(
      `"${safe}" has no scheme`,
      looksLikePath
        ? `For a media file write file://${url.startsWith('/') ? url : '/absolute/path.mp4'}`
        : `Start it with one of ${SCHEMES.map((s) => `${s}://`).join(', ')}`,
    )
  }
  const scheme = (m[1] ?? '').toLowerCase()
  const rest = m[2] ?? ''
  if (!isKind(scheme)) {
    const guess = closest(scheme, SCHEMES)
    throw invalidSource(
      `unknown scheme "${scheme}://" in "${safe}"`,
      guess ? `Did you mean ${guess}://? ` + `Supported: ${SCHEMES.join(', ')}` : `Supported: ${SCHEMES.join(', ')}`,
    )
  }
  const hashAt = rest.indexOf('#')
  const noFragment = hashAt < 0 ? rest : rest.slice(0, hashAt)
  const q = noFragment.indexOf('?')
  const beforeQuery = q < 0 ? noFragment : noFragment.slice(0, q)
  const query = new URLSearchParams(q < 0 ? '' : noFragment.slice(q + 1))
  const ctx: Ctx = { scheme, safe, query }

  switch (scheme) {
    case 'rtsp': return parseRtsp(url, beforeQuery, ctx)
    case 'file': return parseFile(url, beforeQuery, ctx)
    case 'v4l2': return parseV4l2(url, beforeQuery, ctx)
    case 'testsrc': return parseTestsrc(url, beforeQuery, ctx)
    case 'synthetic': return parseSynthetic(url, beforeQuery, ctx)
  }
}

interface Ctx { scheme: SourceKind; safe: string; query: URLSearchParams }

function parseRtsp(url: string, hierarchy: string, ctx: Ctx): RtspSource {
  checkOptions(ctx, true)
  const slash = hierarchy.indexOf('/')
  const authority = slash < 0 ? hierarchy : hierarchy.slice(0, slash)
  const path = slash < 0 ? '/' : hierarchy.slice(slash)
  const at = authority.lastIndexOf('@')
  const hostPort = at < 0 ? authority : authority.slice(at + 1)
  let host: string
  let portText: string | undefined
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']')
    if (close < 0) throw invalidSource(`unclosed IPv6 bracket in "${ctx.safe}"`, 'Write rtsp://[::1]:8554/path')
    host = hostPort.slice(1, close)
    const after = hostPort.slice(close + 1)
    if (after !== '' && !after.startsWith(':')) throw invalidSource(`junk after the IPv6 address in "${ctx.safe}"`, 'Write rtsp://[::1]:8554/path')
    portText = after === '' ? undefined : after.slice(1)
  } else {
    const colon = hostPort.lastIndexOf(':')
    host = colon < 0 ? hostPort : hostPort.slice(0, colon)
    portText = colon < 0 ? undefined : hostPort.slice(colon + 1)
  }
  if (host === '') throw invalidSource(`no host in "${ctx.safe}"`, 'Write rtsp://[user:pass@]host[:port]/path')
  let port = RTSP_DEFAULT_PORT
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw invalidSource(`port "${portText}" in "${ctx.safe}" is not a number from 1 to 65535`, 'Write rtsp://host:8554/path')
    }
    port = Number(portText)
  }
  const transport = ctx.query.get('transport') ?? 'tcp'
  if (transport !== 'tcp' && transport !== 'udp') {
    throw invalidSource(`transport=${transport} in "${ctx.safe}"`, 'Use transport=tcp (the default) or transport=udp')
  }
  return { kind: 'rtsp', url, redacted: ctx.safe, host, port, path, transport, hasCredentials: at >= 0 }
}

function parseFile(url: string, hierarchy: string, ctx: Ctx): FileSource {
  checkOptions(ctx, false)
  if (!hierarchy.startsWith('/')) {
    throw invalidSource(
      `"${ctx.safe}" is not an absolute file URL`,
      `File URLs have three slashes and an absolute path: file:///videos/${hierarchy.split('/').pop() || 'clip.mp4'}`,
    )
  }
  let path: string
  try {
    path = decodeURIComponent(hierarchy)
  } catch {
    throw invalidSource(`bad percent-escape in "${ctx.safe}"`, 'Escape % as %25 in file paths')
  }
  return { kind: 'file', url, redacted: ctx.safe, path, loop: flag(ctx, 'loop', false), realtime: flag(ctx, 'realtime', false) }
}

function parseV4l2(url: string, hierarchy: string, ctx: Ctx): V4l2Source {
  checkOptions(ctx, false)
  if (!hierarchy.startsWith('/dev/')) {
    throw invalidSource(`"${ctx.safe}" does not name a device`, 'Write v4l2:///dev/video0 (three slashes, then the device path)')
  }
  const format = ctx.query.get('format') ?? undefined
  if (format !== undefined && format !== 'mjpeg' && format !== 'yuyv' && format !== 'h264') {
    throw invalidSource(`format=${format} in "${ctx.safe}"`, 'Use format=mjpeg, format=yuyv or format=h264')
  }
  const out: V4l2Source = { kind: 'v4l2', url, redacted: ctx.safe, device: hierarchy }
  if (format !== undefined) out.format = format
  const size = optionalSize(ctx)
  if (size) out.size = size
  const fps = optionalFps(ctx)
  if (fps !== undefined) out.fps = fps
  return out
}

function parseTestsrc(url: string, hierarchy: string, ctx: Ctx): TestSource {
  checkOptions(ctx, false)
  noHierarchy(hierarchy, ctx)
  const codec = ctx.query.get('codec') ?? 'h264'
  const normalized: VideoCodec | undefined = codec === 'h264' ? 'h264' : codec === 'hevc' || codec === 'h265' ? 'hevc' : undefined
  if (!normalized) throw invalidSource(`codec=${codec} in "${ctx.safe}"`, 'Use codec=h264 or codec=hevc')
  return {
    kind: 'testsrc', url, redacted: ctx.safe,
    size: optionalSize(ctx) ?? { ...DEFAULT_TEST_SIZE }, fps: optionalFps(ctx) ?? DEFAULT_TEST_FPS, codec: normalized,
  }
}

function parseSynthetic(url: string, hierarchy: string, ctx: Ctx): SyntheticSource {
  checkOptions(ctx, false)
  noHierarchy(hierarchy, ctx)
  return {
    kind: 'synthetic', url, redacted: ctx.safe,
    size: optionalSize(ctx) ?? { ...DEFAULT_TEST_SIZE }, fps: optionalFps(ctx) ?? DEFAULT_TEST_FPS,
  }
}

/** Parse "1920x1080"; exported for config files that spell sizes the same way. */
export function parseSize(text: string, where = 'size'): Size {
  const m = /^(\d{1,5})[xX](\d{1,5})$/.exec(text.trim())
  if (!m) throw invalidSource(`${where}=${text}`, `Write the size as WIDTHxHEIGHT, for example ${where}=1920x1080`)
  const width = Number(m[1])
  const height = Number(m[2])
  if (width < 16 || height < 16 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
    throw invalidSource(`${where}=${text}`, `Width and height must be between 16 and ${MAX_DIMENSION}`)
  }
  if (width % 2 !== 0 || height % 2 !== 0) {
    throw invalidSource(`${where}=${text}`, '4:2:0 video needs even width and height, for example 1280x720')
  }
  return { width, height }
}

function optionalSize(ctx: Ctx): Size | undefined {
  const v = ctx.query.get('size')
  return v === null ? undefined : parseSize(v)
}

function optionalFps(ctx: Ctx): number | undefined {
  const v = ctx.query.get('fps')
  if (v === null) return undefined
  const n = Number(v)
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0) || n > MAX_FPS) {
    throw invalidSource(`fps=${v} in "${ctx.safe}"`, `Give a frame rate above 0 and at most ${MAX_FPS}, for example fps=30`)
  }
  return n
}

function flag(ctx: Ctx, name: string, fallback: boolean): boolean {
  const v = ctx.query.get(name)
  if (v === null) return fallback
  if (v === '1' || v === 'true' || v === '') return true
  if (v === '0' || v === 'false') return false
  throw invalidSource(`${name}=${v} in "${ctx.safe}"`, `Use ${name}=1 or ${name}=0`)
}

function noHierarchy(hierarchy: string, ctx: Ctx): void {
  if (hierarchy !== '' && hierarchy !== '/') {
    throw invalidSource(`"${ctx.safe}" has a path`, `${ctx.scheme}:// takes options only, for example ${ctx.scheme}://?size=1280x720&fps=30`)
  }
}

/**
 * Reject options a scheme does not know, with a suggestion. RTSP cameras
 * have their own query parameters (channel=, subtype=...), so for rtsp only
 * near misses of our options are errors; the rest go to the camera.
 */
function checkOptions(ctx: Ctx, passThroughUnknown: boolean): void {
  const known = OPTIONS[ctx.scheme]
  const seen = new Set<string>()
  for (const name of ctx.query.keys()) {
    if (known.includes(name)) {
      if (seen.has(name)) throw invalidSource(`option "${name}" given twice in "${ctx.safe}"`, 'Give each option once')
      seen.add(name)
      continue
    }
    const guess = closest(name, known)
    if (passThroughUnknown && !guess) continue
    const list = known.length > 0 ? `${ctx.scheme}:// understands ${known.join(', ')}` : `${ctx.scheme}:// takes no options`
    throw invalidSource(`unknown option "${name}" in "${ctx.safe}"`, guess ? `Did you mean "${guess}"? ${list}` : list)
  }
}

function isKind(s: string): s is SourceKind {
  return (SCHEMES as readonly string[]).includes(s)
}
