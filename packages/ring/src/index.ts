export { FrameRing } from './ring.js'
export type { RingOptions } from './ring.js'
export { RingProducer } from './producer.js'
export type { WriteSlot } from './producer.js'
export { RingConsumer } from './consumer.js'
export { RingError } from './errors.js'
export { PixelFormat, PIXEL_FORMAT_NAMES, frameLayout, pixelFormatCode, pixelFormatName } from './pixel-format.js'
export type { FrameLayout, PixelFormatCode, PixelFormatName, PlaneLayout } from './pixel-format.js'
export {
  DROP_REASON_NAMES,
  DropReason,
  FrameFlags,
  MAX_CONSUMERS_LIMIT,
  RING_MAGIC,
  RING_VERSION,
  requiredSlotCount,
} from './layout.js'
export type { DropReasonCode } from './layout.js'
export type { ConsumerOptions, ConsumerStats, FrameInfo, FrameLease, FrameMeta, RingStats } from './types.js'
export { SHARED_BLOCK_HEADER, SharedBlock, defineSharedBlock } from './shared-block.js'
export type { SharedBlockLayout, SharedBlockOf, SharedBlockSpec, SharedStringField } from './shared-block.js'
export { waitOnWord } from './wait.js'
export { PacketRing, packetRingBytes } from './packet-ring.js'
export type { PacketRingOptions, PacketRingSizing, PacketRingStats, PacketStream } from './packet-ring.js'
export { PacketProducer } from './packet-producer.js'
export type { PacketInput, PacketStreamInput } from './packet-producer.js'
export { PacketReader } from './packet-reader.js'
export type { PacketReaderOptions, PacketReaderStats, PacketRecord, PacketStart } from './packet-reader.js'
export { CODEC_CONFIG_BYTES, PACKET_CODECS, PACKET_DROP_REASON_NAMES, PACKET_RING_MAGIC, PACKET_RING_VERSION } from './packet-layout.js'
export type { PacketCodec } from './packet-layout.js'
