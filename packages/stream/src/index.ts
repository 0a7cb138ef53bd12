export { MjpegHub, MJPEG_BOUNDARY } from './mjpeg-hub.js'
export type { ViewerHandle, ViewerSink, ViewerStats } from './mjpeg-hub.js'
export { LiveFeed, frameMetaJson } from './live-feed.js'
export type { FeedKind, FeedSink, LiveFeedOptions } from './live-feed.js'
export { streamRoutes, defaultStaticDir } from './routes.js'
export type { StreamRouteDeps } from './routes.js'
export { JpegShare, DEFAULT_SLOT_BYTES } from './jpeg-share.js'
export { FrameEncoder, ENCODER_DEFAULTS, MAX_CONSECUTIVE_ENCODE_FAILURES, outputSize, resolveEncoderConfig } from './frame-encoder.js'
export type { EncoderLease, FrameEncoderOptions, FrameEncoderStats, ResolvedEncoderConfig } from './frame-encoder.js'
export {
  DEFAULT_ENCODER_NAME,
  JPEG_SHARE_KEY,
  connectEncoder,
  connectEvents,
  encoderConsumerSpec,
  encoderWorkerUrl,
} from './encoder-service.js'
export type { EncoderConsumerSpec, EncoderSpecOptions, EventSource } from './encoder-service.js'
export { loadEncoder } from './load-encoder.js'
export { startStream } from './stream-service.js'
export type { StartStreamOptions, StreamService } from './stream-service.js'
export { thermalRingSource } from './thermal-source.js'
export type { ThermalRingSource, ThermalRingSourceOptions } from './thermal-source.js'
export { StreamError } from './errors.js'
export type {
  Box,
  Detection,
  DetectionPayload,
  EncodeJpeg,
  EncodedFrame,
  EncoderConfig,
  FrameMetaJson,
  HttpRoute,
  HubStats,
  JpegFrameMeta,
  JpegSourceLayout,
  MotionPayload,
  ThermalPayload,
  ThermalView,
} from './types.js'
export { encoderKind, encoderOptionsSchema } from './consumer-kind.js'
export { LIVE_MP4_STATES, LiveMp4Control, liveMp4Layout } from './live-mp4-layout.js'
export type { LiveMp4State, LiveMp4Status } from './live-mp4-layout.js'
export { LIVE_TIMESCALE, LiveMp4Muxer } from './live-mp4-muxer.js'
export type { LiveFragmentMuxer, LiveMp4MuxerOptions, LiveMuxerFactory, LivePacketReader } from './live-mp4-muxer.js'
export { LIVE_MP4_WORKER_URL, LiveMp4Service, clockRoute, liveMp4ServiceName } from './live-mp4-service.js'
export type { LiveMp4ServiceOptions, LiveMp4Stats } from './live-mp4-service.js'
export type { LiveMp4WorkerConfig } from './live-mp4-worker.js'
