// The frame_verifier consumer: reads every byte of every frame in place. On
// synthetic:// it also proves each frame is exactly what the producer drew
// (no torn or stale frames); on real cameras it checks geometry and reports
// a running checksum, which keeps the "consumer reads every pixel" load honest.
import { serveConsumer } from '@heart/kernel'
import { checkSyntheticFrame, syntheticBaseRow } from '@heart/capture'

interface VerifyOptions {
  /** Check the synthetic pattern (set by `heart run` for synthetic:// sources). */
  synthetic?: boolean
  /** Emit a verify.report event this often. */
  reportEveryMs?: number
}

serveConsumer<VerifyOptions | undefined>((ctx) => {
  const synthetic = ctx.config.app?.synthetic ?? false
  const reportEveryMs = ctx.config.app?.reportEveryMs ?? 1000
  let base = syntheticBaseRow(4096)
  let frames = 0
  let badFrames = 0
  let sequenceBreaks = 0
  let checksum = 0
  let lastSeq = -1n
  let lastMod = -1
  let lastReport = performance.now()
  return {
    onFrame(frame) {
      frames++
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
        const words = new Uint32Array(frame.bytes.buffer, frame.bytes.byteOffset, frame.byteLength >>> 2)
        let sum = 0
        for (let i = 0; i < words.length; i++) sum = (sum + words[i]!) | 0
        checksum = (checksum + sum) | 0
      }
      const now = performance.now()
      if (now - lastReport >= reportEveryMs) {
        lastReport = now
        ctx.emit('verify.report', { consumer: ctx.name, frames, badFrames, sequenceBreaks, checksum })
      }
    },
    onStop() {
      ctx.emit('verify.report', { consumer: ctx.name, frames, badFrames, sequenceBreaks, checksum, final: true })
    },
  }
})
