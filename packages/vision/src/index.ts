export { MotionDetector } from './motion.js'
export type { MotionOptions, MotionResult } from './motion.js'
export { DetectionClient } from './detection-client.js'
export type { DetectionClientOptions, DetectionClientStats, DetectionFrame, DetectionResult, SkipReason, SubmitOutcome } from './detection-client.js'
export { DeepStackProtocol } from './deepstack.js'
export type { DeepStackOptions } from './deepstack.js'
export { OpenInferenceProtocol } from './oip.js'
export type { OipLog, OipOptions, OipOutputDecoder } from './oip.js'
export type { DetectionProtocol, EncodedImage, ImageEncoder, PreparedRequest } from './protocol.js'
export { BmpEncoder, TensorWriter, placementFor, toFrameBox, SUPPORTED_PIXEL_FORMATS } from './image.js'
export type { Placement, TensorDatatype, TensorLayout, TensorSpec } from './image.js'
export { VisionError } from './errors.js'
export { SERVICE_HEALTH_KEY, ServiceHealthWriter, createServiceHealthBuffer, readServiceHealth, reportServiceHealth, serviceHealthLayout } from './service-health.js'
export {
  detectionService,
  detectionWorkerEntry,
  motionService,
  motionWorkerEntry,
  validateDetectionWorkerOptions,
  validateMotionWorkerOptions,
} from './services.js'
export type { DetectionWorkerOptions, MotionWorkerOptions, VisionServiceOptions } from './services.js'
export type { Box, Detection, DetectionEventPayload, FrameView, MotionEventPayload } from './types.js'
export { detectionKind, detectionOptionsSchema, motionKind, motionOptionsSchema } from './consumer-kinds.js'
