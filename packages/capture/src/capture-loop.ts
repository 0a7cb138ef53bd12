// The capture worker's main loop, free of worker plumbing so it can be tested
// with a fake decoder and a real ring: open the source (retrying by the
// reconnect policy), then read frames straight into ring slots and publish
// them, until the signal aborts.
import type { HealthChangePayload } from '@heart/contracts'
import { FrameFlags, frameLayout, type PixelFormatName } from '@heart/ring'
import { CaptureError, reachabilityOf, slotTooSmall, stalled, streamEnded, wrapNativeError } from './errors.js'
import type { CaptureHealthWriter } from './health-block.js'
import type { PacketTap } from './packet-tap.js'
import { ReconnectPolicy } from './reconnect.js'
import { secretsOf } from './redact.js'
import { monotonicMs } from './stats.js'
import type { DecodedFrame, OpenedSource, SourceInfo, SourceOpener } from './decoder.js'
import type { CaptureConfig, SourceSpec } from './types.js'

/** The part of RingProducer the loop uses (structural, so tests can wrap a real one). */
export interface FrameProducer {
  beginWrite(): { index: number; bytes: Uint8Array } | null
  commit(slot: { index: number; bytes: Uint8Array }, meta: {
    captureTsNs: bigint; decodeTsNs: bigint; width: number; height: number; pixFmt: PixelFormatName
    planes: readonly { offset: number; stride: number; width: number; height: number }[]; flags?: number
  }): bigint
  abort(slot: { index: number; bytes: Uint8Array }): void
  bumpEpoch(): number
}

export interface CaptureLog {
  debug(msg: string, fields?: object): void
  info(msg: string, fields?: object): void
  warn(msg: string, fields?: object): void
  error(msg: string, fields?: object): void
}

/** Optional hooks for metrics (the worker wires @heart/telemetry here). */
export interface CaptureObserver {
  frame?(f: { decodeMs: number; receiveToDecodeMs: number; receiveToPublishMs: number; firstFrameMs?: number }): void
  decodeErrors?(n: number): void
  reopen?(): void
}

export interface CaptureLoopOptions {
  spec: SourceSpec
  config: CaptureConfig
  open: SourceOpener
  producer: FrameProducer
  /** Bytes per ring slot, to refuse frames that cannot fit before writing them. */
  slotBytes: number
  health: CaptureHealthWriter
  signal: AbortSignal
  log: CaptureLog
  emit?: (type: string, payload: unknown) => void
  observer?: CaptureObserver
  probe?: ((signal?: AbortSignal) => Promise<boolean>) | undefined
  /** Publishes the compressed packets into the camera's packet ring (when recording or passthrough need them). */
  packets?: PacketTap
  policy?: ReconnectPolicy
  /** Monotonic ms (injectable for tests). */
  now?: () => number
}

/** Runs until options.signal aborts; never throws for source trouble (that is what reconnecting is for). */
export async function runCapture(o: CaptureLoopOptions): Promise<void> {
  const now = o.now ?? monotonicMs
  const policy = o.policy ?? new ReconnectPolicy(o.config.reconnect, { now, random: Math.random }, { canProbe: o.probe !== undefined })
  const secrets = secretsOf(o.spec.url)
  const source = o.spec.redacted
  let opens = 0
  let lastFailure = ''
  o.health.setSource(source)

  const fail = (err: unknown): void => {
    const e = wrapNativeError(err, secrets)
    const delay = policy.recordFailure(reachabilityOf(e.code))
    o.health.failure({ code: e.code, message: e.message })
    // Repeating the same failure every backoff step would flood the log: warn on change, debug on repeats.
    const key = `${e.code}:${e.message}`
    const level = key === lastFailure ? 'debug' : 'warn'
    lastFailure = key
    o.log[level]('capture failed; will retry', { source, code: e.code, error: e.message, retryInMs: delay, failures: policy.failures })
    o.emit?.('health.change', { component: 'camera', to: 'backoff', code: e.code, retryInMs: delay } satisfies HealthChangePayload)
  }

  while (!o.signal.aborted) {
    const decision = policy.next()
    if (decision.action === 'wait') {
      o.health.setState(opens === 0 ? 'connecting' : 'backoff')
      await sleep(decision.ms, o.signal)
      continue
    }
    if (decision.action === 'probe') {
      policy.recordProbe(await o.probe!(o.signal))
      continue
    }
    if (decision.reason === 'camera-returned') o.log.info('camera reachable again; reconnecting now', { source })
    const isReopen = opens > 0
    opens++
    o.health.beginOpen(isReopen)
    if (isReopen) o.observer?.reopen?.()
    const openStartMs = now()
    let opened: OpenedSource
    try {
      opened = await withDeadline(o.config.openTimeoutMs, o.signal, (signal) => o.open({
        spec: o.spec, pixFmt: o.config.pixFmt, expect: o.config.expect, timeoutMs: o.config.openTimeoutMs,
        decodeThreads: o.config.decodeThreads, decoder: o.config.decoder, packets: o.packets !== undefined,
        output: o.config.output, ...(o.config.fpsCap === undefined ? {} : { fpsCap: o.config.fpsCap }),
      }, signal), () => new CaptureError('TIMEOUT', `opening ${source} took longer than ${o.config.openTimeoutMs} ms (capture.openTimeoutMs)`))
    } catch (err) {
      if (o.signal.aborted) break
      fail(err)
      continue
    }
    try {
      checkExpectation(opened.info, o)
      if (isReopen) o.producer.bumpEpoch()
      o.health.opened(opened.info)
      o.packets?.opened(opened.packets, opened.info)
      o.log.info('source opened', { source, ...opened.info, reopen: isReopen })
      await stream(opened, o, policy, openStartMs, now)
      if (o.signal.aborted) break
      throw streamEnded(source)
    } catch (err) {
      if (o.signal.aborted) break
      fail(err)
    } finally {
      try {
        opened.close()
      } catch (err) {
        o.log.debug('close failed', { source, error: wrapNativeError(err, secrets).message })
      }
    }
  }
  o.health.setState('stopped')
}

/** The decoder is also told the expectation; this is the JS-side guard so no other decode path slips through. */
function checkExpectation(info: SourceInfo, o: CaptureLoopOptions): void {
  const { codec, maxSize } = o.config.expect
  const got = info.codec === 'h265' ? 'hevc' : info.codec
  if (codec !== undefined && got !== codec) {
    throw new CaptureError('FORMAT_MISMATCH', `${o.spec.redacted} sends ${got} but capture.expect.codec is ${codec}; change the camera's codec or the expectation`)
  }
  if (info.width > maxSize.width || info.height > maxSize.height) {
    throw new CaptureError(
      'FORMAT_MISMATCH',
      `${o.spec.redacted} sends ${info.width}x${info.height} but capture.expect.maxSize is ${maxSize.width}x${maxSize.height}; ` +
        'lower the camera resolution or raise the maximum',
    )
  }
  const need = info.frameBytes ?? frameLayout(info.width, info.height, o.config.pixFmt).byteLength
  if (need > o.slotBytes) throw slotTooSmall(o.spec.redacted, need, o.slotBytes, info.width, info.height)
}

async function stream(src: OpenedSource, o: CaptureLoopOptions, policy: ReconnectPolicy, openStartMs: number, now: () => number): Promise<void> {
  let scratch: Uint8Array | undefined
  let lastShape = ''
  let first = true
  let lastFrameMs = now()
  // The first frame may take as long as an open (waiting for a keyframe); after that, a stall is a stall.
  let budgetMs = o.config.openTimeoutMs
  while (!o.signal.aborted) {
    const slot = o.producer.beginWrite()
    if (slot === null) o.health.slotsFull()
    // No free slot (consumers hold too many leases): still drain the decoder, into scratch memory, so the
    // network and decoder buffers do not back up; the frame is dropped and the ring counts it.
    const dst = slot?.bytes ?? (scratch ??= new Uint8Array(o.slotBytes))
    let frame: DecodedFrame | null
    try {
      frame = await withDeadline(budgetMs, o.signal, (signal) => src.read(dst, signal), () => stalled(o.spec.redacted, budgetMs))
      // The packets read for this frame (and any before it the decoder held back).
      o.packets?.drain()
    } catch (err) {
      if (slot) o.producer.abort(slot)
      const code = (err as { code?: unknown }).code
      if (code === 'DECODE_ERROR' && !o.signal.aborted) {
        // One bad frame: count it, drop it, keep the stream, unless errors alone fill a whole stall window.
        o.health.decodeError()
        o.observer?.decodeErrors?.(1)
        if (now() - lastFrameMs > budgetMs) throw stalled(o.spec.redacted, budgetMs)
        continue
      }
      throw err
    }
    if (frame === null) {
      if (slot) o.producer.abort(slot)
      return
    }
    if (frame.decodeErrors > 0) {
      for (let i = 0; i < frame.decodeErrors; i++) o.health.decodeError()
      o.observer?.decodeErrors?.(frame.decodeErrors)
    }
    lastFrameMs = now()
    budgetMs = o.config.stallTimeoutMs
    const shape = `${frame.width}x${frame.height}/${frame.pixFmt}`
    if (lastShape !== '' && shape !== lastShape) {
      // The camera renegotiated mid-stream: consumers must not mix frames of both shapes.
      o.producer.bumpEpoch()
      o.health.resized(frame.width, frame.height)
      o.log.info('stream renegotiated', { source: o.spec.redacted, from: lastShape, to: shape })
    }
    lastShape = shape
    if (!slot) continue
    const flags = (o.health.aiLocked() ? FrameFlags.AI_LOCKED : 0) | (frame.keyframe ? FrameFlags.KEYFRAME : 0) | (frame.corrupt ? FrameFlags.CORRUPT : 0)
    o.producer.commit(slot, {
      captureTsNs: frame.captureTsNs, decodeTsNs: frame.decodeTsNs, width: frame.width, height: frame.height,
      pixFmt: frame.pixFmt, planes: frame.planes, flags,
    })
    const publishedNs = process.hrtime.bigint()
    const receiveToPublishMs = Number(publishedNs - frame.captureTsNs) / 1e6
    const receiveToDecodeMs = Number(frame.decodeTsNs - frame.captureTsNs) / 1e6
    let firstFrameMs: number | undefined
    if (first) {
      first = false
      firstFrameMs = Number(frame.decodeTsNs) / 1e6 - openStartMs
      policy.recordStreaming()
      o.emit?.('health.change', { component: 'camera', to: 'streaming' } satisfies HealthChangePayload)
    }
    o.health.frame(frame.decodeMs, receiveToPublishMs, firstFrameMs)
    o.observer?.frame?.({ decodeMs: frame.decodeMs, receiveToDecodeMs, receiveToPublishMs, ...(firstFrameMs === undefined ? {} : { firstFrameMs }) })
  }
}

/**
 * Run fn with a signal that aborts when the outer signal does or after ms.
 * The decoder honours the signal; the race is a second line of defence so a
 * decoder that ignores it still cannot hold the loop past its deadline.
 */
async function withDeadline<T>(ms: number, outer: AbortSignal, fn: (signal: AbortSignal) => Promise<T>, onTimeout: () => Error): Promise<T> {
  const ac = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = onTimeout()
      ac.abort(err)
      reject(err)
    }, ms)
    onAbort = (): void => {
      ac.abort(outer.reason)
      reject(new CaptureError('ABORTED', 'capture stopped'))
    }
    if (outer.aborted) onAbort()
    else outer.addEventListener('abort', onAbort, { once: true })
  })
  const work = fn(ac.signal)
  let settled = false
  void work.then(() => { settled = true }, () => { settled = true })
  try {
    return await Promise.race([work, guard])
  } finally {
    clearTimeout(timer)
    outer.removeEventListener('abort', onAbort!)
    guard.catch(() => {}) // settled or not, nobody else listens
    work.catch(() => {}) // a late rejection after the race was lost is expected
    if (!settled && !outer.aborted) {
      // The deadline fired: give the decoder a moment to honour the abort before the slot it may be
      // writing into goes back to the pool. (On stop we do not wait: nothing is committed after it.)
      await Promise.race([work.then(() => {}, () => {}), new Promise((r) => setTimeout(r, 1000).unref())])
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
