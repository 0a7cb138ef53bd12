// The app's own consumer: runs in a worker thread, reads the luma plane of
// each frame in place (no copy) and emits the mean brightness as an event.
import { serveConsumer } from '@heart/kernel'

interface Options {
  /** Emit one event every N frames (events are for low-rate results, not per-pixel data). */
  everyFrames: number
}

serveConsumer<Options>((ctx) => {
  let frames = 0
  return {
    onFrame(frame) {
      frames++
      if (frames % ctx.config.app.everyFrames !== 0) return
      const luma = frame.planes[0]!
      let sum = 0
      for (let y = 0; y < luma.height; y++) {
        const row = luma.offset + y * luma.stride
        for (let x = 0; x < luma.width; x++) sum += frame.bytes[row + x]!
      }
      ctx.emit('brightness', { seq: Number(frame.seq), mean: sum / (luma.width * luma.height), width: frame.width, height: frame.height })
    },
  }
})
