// The camera ring's size, worked out before it is allocated: a ring larger
// than the machine can give would otherwise fail inside the allocator (a
// RangeError with a stack) or, worse, succeed lazily and take the box into
// swap or the OOM killer mid-run. Refusing at start names what made it big.
import { freemem, totalmem } from 'node:os'
import { configError } from '@heart/kernel'
import { resolveCaptureConfig, ringFrameSize } from '@heart/capture'
import { frameLayout } from '@heart/ring'
import type { CameraPlan, HeartConfig } from './config.js'

/** The largest single SharedArrayBuffer heart asks V8 for (V8 refuses far larger ones, and nothing near this is a sane frame pool). */
export const MAX_RING_BYTES = 16 * 1024 ** 3

/** Share of the machine's total memory the ring may take at most: the decoder, workers and heaps need the rest. */
const TOTAL_MEMORY_SHARE = 0.75

export interface RingPlan {
  slotCount: number
  /** Bytes of one slot: the largest frame the ring takes (camera.output's size, its crop, else expect.maxSize) in the configured pixel format. */
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
export function planRing(ring: HeartConfig['ring'], plan: Pick<CameraPlan, 'options' | 'source' | 'consumers'>): RingPlan {
  const leases = ring.maxLeases
  const slotCount = plan.consumers.reduce((n, c) => n + (c.depth ?? ring.depth) + leases, 0) + ring.spareConsumers * (ring.depth + leases) + 2
  const camera = resolveCaptureConfig({ ...plan.options, source: plan.source })
  const { width, height } = ringFrameSize(camera)
  const frameBytes = frameLayout(width, height, camera.pixFmt).byteLength
  return { slotCount, frameBytes, frame: `${width}x${height} ${camera.pixFmt}`, bytes: slotCount * frameBytes }
}

const gb = (bytes: number): string => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`)

/** What the ring may take on this machine now: what is available, within the share of the total and the allocation cap. */
export function ringMemoryLimit(machine: { free: number; total: number } = { free: freemem(), total: totalmem() }): number {
  return Math.min(machine.free, machine.total * TOTAL_MEMORY_SHARE, MAX_RING_BYTES)
}

/**
 * Throws CONFIG_INVALID when the planned rings together need more than
 * `limit` bytes, naming for each camera its consumers' depths, the frame
 * size, the slots and the total.
 */
export function checkRingMemory(rings: ReadonlyArray<{ plan: RingPlan; camera: Pick<CameraPlan, 'name' | 'path' | 'consumers'> }>, ring: HeartConfig['ring'], source: string, limit = ringMemoryLimit()): void {
  const total = rings.reduce((n, r) => n + r.plan.bytes, 0)
  if (total <= limit) return
  const several = rings.length > 1
  const parts = rings.map(({ plan, camera }) => {
    const depths = camera.consumers.map((c: Consumer) => `${c.name} depth ${c.depth ?? ring.depth}`).join(', ') || 'none'
    const where = camera.path ? `${camera.path}.expect.maxSize` : 'camera.expect.maxSize'
    return `${several ? `camera ${camera.name}: ` : ''}${plan.slotCount} slots of ${gb(plan.frameBytes)} (a ${plan.frame} frame, ${where}) would take ${gb(plan.bytes)} (consumers: ${depths}, each + ${ring.maxLeases} lease(s))`
  })
  throw configError(
    [
      `ring: ${parts.join('; ')}${several ? `; together ${gb(total)}` : ''}, ` +
        `more than this machine can give the ring${several ? 's' : ''} (${gb(limit)}: ${gb(freemem())} available of ${gb(totalmem())}); ` +
        `${ring.spareConsumers} spare place(s) at ring.depth ${ring.depth}. ` +
        'Lower the consumers\' depth, camera.expect.maxSize or ring.spareConsumers (heart budget prints the memory of a configuration)',
    ],
    source,
  )
}

/** Plans the ring of every enabled camera and checks they fit together (CONFIG_INVALID otherwise): what `heart run` and `heart config check` do. */
export function planCameraRings(ring: HeartConfig['ring'], cameras: readonly CameraPlan[], source: string, limit = ringMemoryLimit()): Map<string, RingPlan> {
  const plans = new Map(cameras.filter((c) => c.enabled).map((c) => [c.name, planRing(ring, c)] as const))
  checkRingMemory(cameras.filter((c) => c.enabled).map((camera) => ({ plan: plans.get(camera.name)!, camera })), ring, source, limit)
  return plans
}
