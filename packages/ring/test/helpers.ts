import { FrameRing, frameLayout, type FrameMeta, type RingProducer } from '../src/index.js'

export const smallLayout = frameLayout(16, 8, 'gray')

/** Publishes one small gray frame whose every byte is (seq & 0xff); returns its seq. */
export function publishPattern(producer: RingProducer, flags = 0, captureTsNs = process.hrtime.bigint()): bigint | null {
  const slot = producer.beginWrite()
  if (!slot) return null
  const meta: FrameMeta = {
    captureTsNs,
    decodeTsNs: captureTsNs,
    width: smallLayout.width,
    height: smallLayout.height,
    pixFmt: 'gray',
    planes: smallLayout.planes,
    flags,
  }
  // The seq is not known before commit; tests stamp the byte from the published count.
  return producer.commit(slot, meta)
}

export function smallRing(options: Partial<Parameters<typeof FrameRing.create>[0]> = {}): FrameRing {
  return FrameRing.create({ slotBytes: smallLayout.byteLength, maxConsumers: 4, defaultDepth: 2, maxDepth: 4, ...options })
}
