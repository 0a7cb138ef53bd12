// The vision consumer kinds `heart run` knows: `motion` and `detection`.
// Each option schema is strict (a misspelt key is named with a did-you-mean)
// and hands every value to the code that uses it (the detector's, the
// protocol's and the client's constructors check their own options), so an
// option is checked in one place and its problem is reported with every
// other problem of the config file.
import { checkedBy, defineConsumerKind, optional, ringOptionsOf, show, validate, z, type ConsumerSpec, type Infer } from '@heart/kernel'
import { DeepStackProtocol, type DeepStackOptions } from './deepstack.js'
import { DetectionClient } from './detection-client.js'
import { VisionError } from './errors.js'
import { MotionDetector } from './motion.js'
import { OpenInferenceProtocol, type OipOptions } from './oip.js'
import { detectionService, motionService, type DetectionWorkerOptions, type MotionWorkerOptions } from './services.js'
import { reportServiceHealth } from './service-health.js'

/** A vision error reads as the problem it names, without the advice meant for a thrown error. */
const tidy = (message: string): string => message.replace(/^vision option /, 'option ').replace(/\. Fix the option in the vision config\.$/, '')

/** Keys only: the value is the constructor's to check. */
const given = (): z.ZodType<unknown> => z.unknown().optional()

/** A strict mapping of keys (null or absent: nothing given). */
function mapping<S extends z.ZodRawShape>(shape: S) {
  const keys = Object.keys(shape).join(', ')
  return z.preprocess(
    (v) => (v === null ? undefined : v),
    z.strictObject(shape, { error: (iss) => (iss.code === 'invalid_type' ? `got ${show(iss.input)}, expected an object with ${keys}` : undefined) }),
  )
}

const detectorSchema = checkedBy(
  mapping({
    downscale: given(),
    downscaleMode: given(),
    blurRadius: given(),
    threshold: given(),
    minArea: given(),
    backgroundRate: given(),
    foregroundRate: given(),
    absorbFrames: given(),
    dilateRadius: given(),
    masks: given(),
    calibrationFrames: given(),
    globalChangeFraction: given(),
    globalShift: given(),
    followGlobalShift: given(),
    maxBoxes: given(),
  }).optional(),
  (detector) => void new MotionDetector(detector as MotionWorkerOptions['detector']),
  tidy,
)

/** Options of a `motion` consumer (docs/vision.md). */
export const motionOptionsSchema = z.preprocess(
  (v) => (v === null || v === undefined ? {} : v),
  z.strictObject({
    /** Detector settings: threshold, minArea, backgroundRate, masks, ... */
    detector: detectorSchema,
    /** Width the frame is reduced to before detection. Default 320. */
    inputWidth: optional(
      z
        .number({ error: (iss) => `got ${show(iss.input)}, expected an integer from 16 to 8192 (pixels)` })
        .refine((v) => Number.isInteger(v) && v >= 16 && v <= 8192, { error: (iss) => `got ${show(iss.input)}, expected an integer from 16 to 8192 (pixels)` }) as z.ZodType<number>,
    ),
  }),
) as unknown as z.ZodType<MotionWorkerOptions>

const protocolText = '"deepstack" (DeepStack / CodeProject.AI) or "oip" (Open Inference Protocol v2)'

/** Options of a `detection` consumer (docs/vision.md). */
export const detectionOptionsSchema = checkedBy(
  z.preprocess(
    (v) => (v === null || v === undefined ? {} : v),
    z.strictObject({
      protocol: z.enum(['deepstack', 'oip'], { error: (iss) => `got ${show(iss.input)}, expected ${protocolText}` }).default('deepstack'),
      deepstack: optional(
        mapping({
          url: given(),
          path: given(),
          minConfidence: given(),
          maxWidth: given(),
          imageFormat: optional(z.enum(['jpeg', 'bmp'], { error: (iss) => `got ${show(iss.input)}, allowed: jpeg | bmp` }) as z.ZodType<'jpeg' | 'bmp'>),
        }),
      ),
      oip: optional(mapping({ url: given(), model: given(), version: given(), input: given(), batch: given(), output: given(), minConfidence: given(), binary: given() })),
      deadlineMs: given(),
      maxInFlight: given(),
      fps: given(),
      skipAiLocked: optional(z.boolean({ error: (iss) => `got ${show(iss.input)}, expected true or false` })),
      statsEveryMs: optional(
        z.number({ error: (iss) => `got ${show(iss.input)}, expected a positive number of milliseconds` }).gt(0, { error: (iss) => `${show(iss.input)} is out of range, expected a positive number of milliseconds` }),
      ),
    }),
  ) as unknown as z.ZodType<DetectionWorkerOptions>,
  (d) => {
    const protocol = d.protocol === 'oip' ? new OpenInferenceProtocol((d.oip ?? {}) as OipOptions) : new DeepStackProtocol((d.deepstack ?? {}) as DeepStackOptions)
    void new DetectionClient({ protocol, deadlineMs: d.deadlineMs, maxInFlight: d.maxInFlight, fps: d.fps })
  },
  tidy,
)

export type MotionKindOptions = Infer<typeof motionOptionsSchema>

/** Checks options with a kind's schema outside a config file (direct callers of the services). */
export function checkVisionOptions<T>(schema: z.ZodType<T>, options: unknown): T {
  const { value, problems } = validate(schema, options)
  if (problems.length > 0) throw new VisionError('VISION_INVALID_OPTION', `vision options: ${problems.join('; ')}`)
  return value
}

/** A kind whose consumer is one of this package's worker services, with the entry's ring options on top. */
function serviceKind<O>(
  name: string,
  description: string,
  options: z.ZodType<O>,
  service: (spec: { ring: string; name: string; app: O }) => ConsumerSpec<O>,
) {
  return defineConsumerKind<O>({
    name,
    description,
    options,
    start(entry, ctx) {
      const spec = service({ ring: ctx.ring, name: entry.name, app: entry.options })
      reportServiceHealth(ctx.kernel, spec)
      ctx.kernel.startConsumer({ ...spec, consumer: { ...spec.consumer, ...ringOptionsOf(entry) } })
      return {}
    },
  })
}

export const motionKind = serviceKind<MotionWorkerOptions>(
  'motion',
  'movement detector on the luma plane: motion boxes as events (docs/vision.md)',
  motionOptionsSchema,
  motionService,
)

export const detectionKind = serviceKind<DetectionWorkerOptions>(
  'detection',
  'object detection client (DeepStack / CodeProject.AI or Open Inference Protocol v2): detections as events',
  detectionOptionsSchema,
  detectionService,
)
