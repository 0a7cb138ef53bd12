// The camera ring's size, worked out before it is allocated: a ring larger
// than the machine can give would otherwise fail inside the allocator (a
// RangeError with a stack) or, worse, succeed lazily and take the box into
// swap or the OOM killer mid-run. Refusing at start names what made it big.
import { freemem, totalmem } from 'node:os'
import { configError } from '@heart/kernel'
import { resolveCaptureConfig } from '@heart/capture'
import { frameLayout } from '@heart/ring'
import type { HeartConfig } from './config.js'

/** The largest single SharedArrayBuffer heart asks V8 for (V8 refuses far larger ones, and nothing near this is a sane frame pool). */
export const MAX_RING_BYTES = 16 * 1024 ** 3

/** Share of the machine's total memory the ring may take at most: the decoder, workers and heaps need the rest. */
const TOTAL_MEMORY_SHARE = 0.75

export interface RingPlan {
  slotCount: number
  /** Bytes of one slot: the largest frame capture.expect.maxSize allows in the configured pixel format. */
  frameBytes: number
  /** The frame the slots are sized for, in words ("1920x1080 yuv420p"). */
  frame: string
  /** slotCount x frameBytes. */
  bytes: number
}

type Consumer = HeartConfig['consumers'][number]

/**
 * Exactly the slots the configured consumers can hold (queue + leases each),
 * room for the spare places at the default depth, plus the one being written
 * and a spare: every consumer within its budget, the producer never finds the
 * pool empty, and no memory for queues nobody asked for.
 */
export function planRing(config: HeartConfig, consumers: readonly Consumer[]): RingPlan {
  const { ring } = config
  const leases = ring.maxLeases
  const slotCount = consumers.reduce((n, c) => n + (c.depth ?? ring.depth) + leases, 0) + ring.spareConsumers * (ring.depth + leases) + 2
  const camera = resolveCaptureConfig({ ...config.camera, source: config.source })
  const { width, height } = camera.expect.maxSize
  const frameBytes = frameLayout(width, height, camera.pixFmt).byteLength
  return { slotCount, frameBytes, frame: `${width}x${height} ${camera.pixFmt}`, bytes: slotCount * frameBytes }
}

const gb = (bytes: number): string => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`)

/** What the ring may take on this machine now: what is available, within the share of the total and the allocation cap. */
export function ringMemoryLimit(machine: { free: number; total: number } = { free: freemem(), total: totalmem() }): number {
  return Math.min(machine.free, machine.total * TOTAL_MEMORY_SHARE, MAX_RING_BYTES)
}

/**
 * Throws CONFIG_INVALID when the planned ring needs more than `limit` bytes,
 * naming each consumer's depth, the frame size, the slots and the total.
 */
export function checkRingMemory(plan: RingPlan, config: HeartConfig, consumers: readonly Consumer[], source: string, limit = ringMemoryLimit()): void {
  if (plan.bytes <= limit) return
  const { ring } = config
  const depths = consumers.map((c) => `${c.name} depth ${c.depth ?? ring.depth}`).join(', ') || 'none'
  throw configError(
    [
      `ring: ${plan.slotCount} slots of ${gb(plan.frameBytes)} (a ${plan.frame} frame, camera.expect.maxSize) would take ${gb(plan.bytes)}, ` +
        `more than this machine can give the ring (${gb(limit)}: ${gb(freemem())} available of ${gb(totalmem())}); ` +
        `consumers: ${depths}, each + ${ring.maxLeases} lease(s); ${ring.spareConsumers} spare place(s) at ring.depth ${ring.depth}. ` +
        'Lower the consumers\' depth, camera.expect.maxSize or ring.spareConsumers (heart budget prints the memory of a configuration)',
    ],
    source,
  )
}
