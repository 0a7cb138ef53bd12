// A piscina task: fills a model input tensor from a frame that lives in
// shared memory (a ring slot), writing into a shared output buffer, so
// neither the frame nor the tensor crosses threads by copy.

import { TensorWriter } from './image.js'
import type { Placement, TensorSpec } from './image.js'
import type { FrameView } from './types.js'

export interface PrepareTask {
  frame: FrameView
  spec: TensorSpec
  /** Receives the tensor: Float32 for FP32 specs, bytes for UINT8. */
  out: SharedArrayBuffer
}

const writers = new Map<string, TensorWriter>()

export default function prepare(task: PrepareTask): Placement {
  const key = JSON.stringify(task.spec)
  let w = writers.get(key)
  const data = task.spec.datatype === 'FP32' ? new Float32Array(task.out) : new Uint8Array(task.out)
  if (!w || w.data.buffer !== task.out) {
    w = new TensorWriter(task.spec, data)
    writers.set(key, w)
  }
  return w.write(task.frame)
}
