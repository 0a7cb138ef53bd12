// Adapts @heart/native's Source (FFmpeg demux + decode straight into a
// Uint8Array) to the capture loop's decoder seam, and wraps probe() for
// `heart probe`. The native module is loaded lazily so everything else in
// this package (URL parsing, policy, health) works without the addon built.
import type { FrameInfo, OpenOptions, OutputInfo, Source, SourceSpec as NativeSourceSpec } from '@heart/native'
import { loadNative as loadHeartNative, type HeartNative } from '@heart/kernel'
import { CaptureError, nativeUnavailable, slotTooSmall, wrapNativeError } from './errors.js'
import { secretsOf } from './redact.js'
import { nativeSpec, parseSource } from './sources/registry.js'
import type { DecodedFrame, OpenedSource, OpenRequest, PacketSource, SourceInfo, SourceOpener } from './decoder.js'
import type { DecoderChoice, SourceSpec } from './types.js'

type NativeModule = HeartNative
type NativeOpenOptions = OpenOptions
type NativeSource = Source
type NativeOutputInfo = OutputInfo
type NativeFrameInfo = FrameInfo

/** The addon through the kernel's one loader, its failure as capture's NATIVE_UNAVAILABLE error. */
async function loadNative(): Promise<NativeModule> {
  return loadHeartNative(['Source', 'probe']).catch((err: unknown) => {
    throw nativeUnavailable(err)
  })
}

/** Native open options for a request: the expectation is enforced by the decoder at open, not after. */
export function nativeOptions(r: Pick<OpenRequest, 'pixFmt' | 'expect' | 'timeoutMs' | 'decodeThreads' | 'decoder' | 'packets' | 'output' | 'fpsCap'>): NativeOpenOptions {
  const o: NativeOpenOptions = {
    decoder: r.decoder,
    output: { pixFmt: r.pixFmt, ...r.output?.size, ...(r.output?.crop ? { crop: { ...r.output.crop } } : {}) },
    maxWidth: r.expect.maxSize.width,
    maxHeight: r.expect.maxSize.height,
    timeoutMs: r.timeoutMs,
    threads: r.decodeThreads,
    packets: r.packets === true,
  }
  if (r.expect.codec) o.expectCodec = r.expect.codec
  if (r.fpsCap !== undefined) o.fpsCap = r.fpsCap
  return o
}

/** The native spec of a source the crate decodes; kinds drawn in JS (synthetic://) have none. */
function decodable(spec: SourceSpec): NativeSourceSpec {
  const target = nativeSpec(spec)
  if (!target) throw new CaptureError('INVALID_SOURCE', `${spec.kind}:// is drawn, not decoded: there is nothing to probe or decode natively`)
  return target
}

/** The capture loop's opener backed by @heart/native (throws NATIVE_UNAVAILABLE if the addon is missing). */
export async function nativeOpener(): Promise<SourceOpener> {
  const native = await loadNative()
  return async (request, signal) => {
    const secrets = secretsOf(request.spec.url)
    const spec = decodable(request.spec)
    let src: NativeSource
    try {
      src = await native.Source.open(spec, nativeOptions(request), signal)
    } catch (err) {
      throw wrapNativeError(err, secrets)
    }
    return new NativeOpenedSource(src, request.spec, secrets, native.PACKET_RECORD_HEADER_BYTES)
  }
}

class NativeOpenedSource implements OpenedSource {
  info: SourceInfo
  readonly packets?: PacketSource
  private out: NativeOutputInfo
  constructor(private readonly src: NativeSource, private readonly spec: SourceSpec, private readonly secrets: string[], packetHeaderBytes: number) {
    this.out = src.info
    this.info = toSourceInfo(this.out)
    const codec = this.out.codec === 'h264' ? 'h264' : this.out.codec === 'hevc' ? 'hevc' : null
    if (this.out.packets && codec) {
      this.packets = {
        codec,
        headerBytes: packetHeaderBytes,
        // Re-read each time: a stream that sends its parameter sets in band has none at open.
        codecConfig: () => this.src.info.codecConfig ?? null,
        take: (dst) => this.src.takePackets(dst),
      }
    }
  }

  async read(dst: Uint8Array, signal: AbortSignal): Promise<DecodedFrame | null> {
    for (;;) {
      let f: NativeFrameInfo
      try {
        f = await this.src.readInto(dst, signal)
      } catch (err) {
        const code = (err as { code?: unknown }).code
        if (code === 'END_OF_STREAM') return null
        throw wrapNativeError(err, this.secrets)
      }
      const lost = this.framesMissing(f.ptsUs)
      if (f.reconfigured) {
        this.lastPtsUs = undefined
        // Nothing was written: pick up the new layout and read the frame again in it.
        this.out = this.src.info
        this.info = toSourceInfo(this.out)
        if (this.out.byteLength > dst.length) {
          throw slotTooSmall(this.spec.redacted, this.out.byteLength, dst.length, this.out.width, this.out.height)
        }
        continue
      }
      return {
        captureTsNs: f.captureTsNs,
        decodeTsNs: f.decodeTsNs,
        width: this.out.width,
        height: this.out.height,
        pixFmt: this.out.pixFmt,
        planes: this.out.planes,
        keyframe: f.keyframe,
        corrupt: f.corrupt,
        // The decoder reports when the packet arrived and when its frame came out.
        decodeMs: Number(f.decodeTsNs - f.captureTsNs) / 1e6,
        // Native counts packets the decoder rejects; a frame FFmpeg drops silently (a damaged slice header it
        // conceals by emitting nothing) only shows as a hole in the timestamps, so count holes too, never twice.
        decodeErrors: Math.max(f.decodeErrors, lost),
      }
    }
  }

  private lastPtsUs: number | undefined

  /** Frames absent between the previous frame and this one, judged by the announced rate. */
  private framesMissing(ptsUs: number | undefined): number {
    const prev = this.lastPtsUs
    this.lastPtsUs = ptsUs
    const fps = this.out.fps
    if (ptsUs === undefined || prev === undefined || !(fps > 0)) return 0
    const interval = 1e6 / fps
    const missing = Math.round((ptsUs - prev) / interval) - 1
    // A hole of more than a few seconds is a stall or a timestamp jump, not dropped frames: the stall timer handles it.
    return missing > 0 && missing <= fps * 2 ? missing : 0
  }

  close(): void {
    this.src.close()
  }
}

function toSourceInfo(o: NativeOutputInfo): SourceInfo {
  return {
    codec: o.codec,
    width: o.sourceWidth,
    height: o.sourceHeight,
    fps: o.fps > 0 ? o.fps : null,
    pixFmt: o.sourcePixFmt,
    backend: o.backend,
    fallbackReason: o.fallbackReason ?? null,
    frameBytes: o.byteLength,
  }
}

/** What `heart probe URL` prints: what an open would report, and what the container says besides. */
export interface ProbeResult extends Omit<SourceInfo, 'frameBytes' | 'fallbackReason'> {
  /** The URL, credentials masked. */
  source: string
  fallbackReason: string | null
  durationMs: number | null
  bitRate: number | null
}

/**
 * Opens the source just long enough to learn what it sends and which decoder
 * would decode it. Errors carry the native code (CONNECT_REFUSED,
 * STREAM_NOT_FOUND, ...) and no credentials.
 */
export async function probeSource(url: string, options: { timeoutMs?: number; decoder?: DecoderChoice; signal?: AbortSignal } = {}): Promise<ProbeResult> {
  const spec = parseSource(url)
  const target = decodable(spec)
  const native = await loadNative()
  const o: NativeOpenOptions = { timeoutMs: options.timeoutMs ?? 10_000, decoder: options.decoder ?? 'auto' }
  try {
    const p = await native.probe(target, o, options.signal ?? null)
    return {
      source: spec.redacted, codec: p.codec, width: p.width, height: p.height, fps: p.fps > 0 ? p.fps : null,
      pixFmt: p.pixFmt, backend: p.backend, fallbackReason: p.fallbackReason ?? null,
      durationMs: p.durationMs ?? null, bitRate: p.bitRate ?? null,
    }
  } catch (err) {
    throw wrapNativeError(err, secretsOf(spec.url))
  }
}

/** Human-readable lines for `heart probe`. */
export function formatProbe(p: ProbeResult): string {
  const lines = [
    `source        ${p.source}`,
    `codec         ${p.codec}`,
    `size          ${p.width}x${p.height}`,
    `rate          ${p.fps === null ? 'not announced' : `${Math.round(p.fps * 100) / 100} fps`}`,
    `pixel format  ${p.pixFmt}`,
    `backend       ${p.backend}`,
  ]
  // The decoder's reason starts with what it fell back to, which the backend line already says.
  if (p.fallbackReason) lines.push(`hardware      not used: ${p.fallbackReason.replace(/^software decoding:\s*/, '')}`)
  if (p.durationMs !== null) lines.push(`duration      ${(p.durationMs / 1000).toFixed(1)} s`)
  if (p.bitRate !== null) lines.push(`bit rate      ${(p.bitRate / 1e6).toFixed(2)} Mbit/s`)
  return lines.join('\n')
}
