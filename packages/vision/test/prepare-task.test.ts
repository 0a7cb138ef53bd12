import t from 'tap'
import { Piscina } from 'piscina'
import { TensorWriter } from '../src/image.js'
import type { TensorSpec } from '../src/image.js'
import { drawFrame } from './frames.js'

t.test('the piscina task fills a shared tensor exactly like the inline writer', async (t) => {
  const pool = new Piscina({ filename: new URL('../src/prepare-task.js', import.meta.url).href, maxThreads: 1 })
  t.teardown(() => pool.destroy())
  const f = drawFrame(320, 240, 'yuv420p', { x: 40, y: 30, w: 100, h: 50 })
  // The frame lives in shared memory, as a ring slot does.
  const sab = new SharedArrayBuffer(f.bytes.length)
  const bytes = new Uint8Array(sab)
  bytes.set(f.bytes)
  const frame = { width: f.width, height: f.height, pixFmt: f.pixFmt, planes: f.planes, bytes }
  const spec: TensorSpec = { width: 160, height: 160, layout: 'NCHW', datatype: 'FP32' }
  const out = new SharedArrayBuffer(160 * 160 * 3 * 4)
  const placement = await pool.run({ frame, spec, out })
  const inline = new TensorWriter(spec)
  t.same(placement, inline.write(frame))
  t.same(new Float32Array(out), inline.data)
})
