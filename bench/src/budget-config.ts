// `heart budget --config FILE`: the rig a heart config describes, camera by
// camera, so the budget is of what `heart run --config FILE` would start
// rather than of flags typed again by hand. What the config says is used as
// heart uses it: the ring's frame size (output size, else the crop, else
// expect.maxSize), the pixel format, the consumers and each one's queue,
// the ring's leases and spare places, recording and its pre-roll. What a
// config cannot say (the rate of an RTSP or V4L2 camera before it is opened,
// the codec on the wire, the bitrate) comes from the flags (--fps, --codec,
// --bitrate) or their defaults; a rate in the source URL (`?fps=30`) or an
// fpsCap is used where given.
import { resolveCaptureConfig, ringFrameSize } from '@heart/capture'
import { cameraPlans, loadHeartConfig } from '@heart/cli'
import type { CameraBudgetInput, RigBudgetOptions } from './budget-cameras.js'

export interface ConfigRig {
  cameras: CameraBudgetInput[]
  options: Partial<RigBudgetOptions>
  /** Cameras in the file left out (enabled: false). */
  disabled: string[]
}

/** The rate a source URL states (synthetic:// and testsrc:// draw at ?fps; some RTSP servers take one), or undefined. */
function urlRate(source: string): number | undefined {
  try {
    const fps = Number(new URL(source).searchParams.get('fps') ?? NaN)
    return Number.isFinite(fps) && fps > 0 ? fps : undefined
  } catch {
    return undefined
  }
}

/** Reads and checks the file as `heart run` would (a mistake is the same named CONFIG_INVALID), then one budget camera per enabled camera. */
export function rigFromConfig(file: string): ConfigRig {
  const config = loadHeartConfig(file)
  const plans = cameraPlans(config)
  const cameras: CameraBudgetInput[] = []
  for (const plan of plans.filter((p) => p.enabled)) {
    const capture = resolveCaptureConfig({ ...plan.options, source: plan.source })
    const { width, height } = ringFrameSize(capture)
    const rate = capture.fpsCap ?? urlRate(plan.source)
    cameras.push({
      name: plan.name,
      width,
      height,
      ...(rate === undefined ? {} : { fps: rate }),
      pixFmt: capture.pixFmt,
      consumers: plan.consumers.length,
      depth: config.ring.depth,
      consumerDepths: plan.consumers.map((c) => c.depth ?? config.ring.depth),
      leases: config.ring.maxLeases,
      spare: config.ring.spareConsumers,
      motion: plan.consumers.some((c) => c.kind === 'motion'),
      record: plan.record.enabled,
      preSeconds: plan.record.preSeconds,
      gopSeconds: plan.record.maxGopSeconds,
    })
  }
  return { cameras, options: { record: cameras.some((c) => c.record) }, disabled: plans.filter((p) => !p.enabled).map((p) => p.name) }
}
