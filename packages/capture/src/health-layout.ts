// Layout of the capture health block: one SharedArrayBuffer per camera,
// written by the capture worker, read by the main thread without waiting
// (the shared-block seqlock), plus the AI-lock word the main thread writes.
// The fields are declared here once; @heart/ring's shared-block helper turns
// them into offsets, so writer and reader cannot disagree.
import { defineSharedBlock } from '@heart/ring'

export const healthLayout = defineSharedBlock({
  name: 'capture health block',
  magic: 0x48434150, // "HCAP"
  // 2: moved onto the shared-block header (generation and length live there).
  version: 2,
  i32: [
    'state',
    /** 1 while the supervisor holds the camera down (POST /camera/down). Written by main, read per frame by the worker. */
    'aiLock',
    'width',
    'height',
  ],
  f64: [
    'framesPerS',
    'decodeP50',
    'decodeP99',
    'decodeFirst',
    'reopens',
    'decodeErrors',
    'frames',
    'failures',
    'slotsFull',
    /** Monotonic ms (process.hrtime) of the latest failure or decode error; NaN if none. */
    'lastFailureMs',
    /** Monotonic ms of the latest published frame; NaN if none yet. */
    'lastFrameMs',
    /** Monotonic ms when the worker started. */
    'startedMs',
    'recvToPublishP50',
    'recvToPublishP99',
  ],
  strings: { backend: 60, codec: 28, errorCode: 60, source: 508, errorMessage: 1020 },
  refuse: (problem) => new TypeError(`capture health block: ${problem}; expected a SharedArrayBuffer of this layout, from createHealthBuffer() of the same @heart/capture`),
})

export const HEALTH_BYTES = healthLayout.tailOffset
/** Index of the start time in a Float64Array over the whole block. */
export const F64_STARTED_MS = healthLayout.f64.startedMs

export const STATE_CODES = ['idle', 'connecting', 'streaming', 'backoff', 'stopped'] as const
