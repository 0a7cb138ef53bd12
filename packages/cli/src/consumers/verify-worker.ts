// The frame_verifier consumer: reads every byte of every frame in place. On
// synthetic:// it also proves each frame is exactly what the producer drew
// (no torn or stale frames); on real cameras it checks geometry and reports
// a running checksum, which keeps the "consumer reads every pixel" load honest.
//
// Leases are read-only (docs/consumers.md), but nothing stops a consumer from
// writing into the pixels it holds, and every other consumer of that frame
// then sees its writes. The verifier catches it where it can honestly see it:
// it checksums a sample of the frame when it takes the lease and again just
// before it gives it back; a difference means some thread wrote into a frame
// while it was leased (the producer never writes a slot any consumer holds).
import { serveConsumer, type VerifyProblem } from '@heart/kernel'
import { checkSyntheticFrame, syntheticBaseRow } from '@heart/capture'

interface VerifyOptions {
  /** Check the synthetic pattern (set by `heart run` for synthetic:// sources). */
  synthetic?: boolean
  /** Emit a verify.report event this often. */
  reportEveryMs?: number
  /**
   * Hold each frame this long before the second checksum (default 0: check
   * right before release). A writer is seen only while both hold the frame,
   * so holding longer widens the window when hunting one.
   */
  holdMs?: number
}

/** 32-bit words sampled per frame: spread over the whole frame, a few microseconds to read. */
const SAMPLE_WORDS = 512

/** A checksum of SAMPLE_WORDS words spread evenly over the frame. */
function sampleChecksum(words: Uint32Array): number {
  const step = Math.max(1, Math.floor(words.length / SAMPLE_WORDS))
  let sum = 0
  for (let i = 0; i < words.length; i += step) sum = (Math.imul(sum, 31) + words[i]!) | 0
  return sum
}

/** Logs a named problem at most this often (each report event carries the counts). */
const PROBLEM_LOG_MS = 10_000

serveConsumer<VerifyOptions | undefined>((ctx) => {
  const synthetic = ctx.config.app?.synthetic ?? false
  const reportEveryMs = ctx.config.app?.reportEveryMs ?? 1000
  const holdMs = ctx.config.app?.holdMs ?? 0
  let base = syntheticBaseRow(4096)
  let frames = 0
  let badFrames = 0
  let sequenceBreaks = 0
  let writtenWhileLeased = 0
  let checksum = 0
  let lastSeq = -1n
  let lastMod = -1
  let lastReport = performance.now()
  let lastProblemLog = -Infinity
  const report = (final: boolean): void =>
    ctx.emit('verify.report', {
      consumer: ctx.name,
      frames,
      badFrames,
      sequenceBreaks,
      writtenWhileLeased,
      problems: writtenWhileLeased > 0 ? (['frame_written_while_leased'] satisfies VerifyProblem[]) : [],
      checksum,
      ...(final ? { final: true } : {}),
    })
  const recheck = (words: Uint32Array, atLease: number, seq: bigint): void => {
    if (sampleChecksum(words) === atLease) return
    writtenWhileLeased++
    const now = performance.now()
    if (now - lastProblemLog < PROBLEM_LOG_MS) return
    lastProblemLog = now
    ctx.log.warn('a frame changed while this consumer held it: some consumer writes into its frames (leases are read-only, see docs/consumers.md)', {
      problem: 'frame_written_while_leased' satisfies VerifyProblem,
      seq,
      written_while_leased: writtenWhileLeased,
    })
  }
  return {
    async onFrame(frame) {
      frames++
      const words = new Uint32Array(frame.bytes.buffer, frame.bytes.byteOffset, frame.byteLength >>> 2)
      const atLease = sampleChecksum(words)
      if (synthetic) {
        const needed = frame.planes[0]!.stride
        if (base.length < needed + 256) base = syntheticBaseRow(needed)
        const check = checkSyntheticFrame(frame.bytes, frame, base)
        if (check.badRows > 0) badFrames++
        // Consecutive seqs must carry consecutive pattern numbers (within an epoch).
        if (lastSeq >= 0n && lastMod >= 0) {
          const expected = (lastMod + Number((frame.seq - lastSeq) & 0xffn)) & 0xff
          if (expected !== check.frameMod256 && frame.seq - lastSeq < 256n) sequenceBreaks++
        }
        lastSeq = frame.seq
        lastMod = check.frameMod256
      } else {
        // Touch every byte: a 32-bit word sum over the frame.
        let sum = 0
        for (let i = 0; i < words.length; i++) sum = (sum + words[i]!) | 0
        checksum = (checksum + sum) | 0
      }
      if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs))
      recheck(words, atLease, frame.seq)
      const now = performance.now()
      if (now - lastReport >= reportEveryMs) {
        lastReport = now
        report(false)
      }
    },
    onStop() {
      report(true)
    },
  }
})
