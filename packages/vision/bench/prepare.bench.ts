// Does a piscina thread pool pay off for tensor preparation?
// Compares, for a 1080p yuv420p frame in shared memory -> 640x640 letterboxed
// NCHW FP32 tensor: (a) inline in the calling thread, (b) one task at a time
// through piscina, (c) piscina with tasks overlapping. Also times the OIP
// request body (tensor + JSON) built inline.
// Run: pnpm exec tsc -b packages/vision && node packages/vision/dist/bench/prepare.bench.js

import { Piscina } from 'piscina'
import { frameLayout } from '@heart/ring'
import { TensorWriter } from '../src/image.js'
import type { TensorSpec } from '../src/image.js'
import { OpenInferenceProtocol } from '../src/oip.js'
import type { FrameView } from '../src/types.js'

const N = Number(process.env.FRAMES ?? 100)
const layout = frameLayout(1920, 1080, 'yuv420p')
const sab = new SharedArrayBuffer(layout.byteLength)
const bytes = new Uint8Array(sab)
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255
const frame: FrameView = { width: 1920, height: 1080, pixFmt: 'yuv420p', planes: layout.planes, bytes }
const spec: TensorSpec = { width: 640, height: 640, layout: 'NCHW', datatype: 'FP32' }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.floor(s.length / 2)]! * 100) / 100
}
const now = () => performance.now()

// (a) inline
const writer = new TensorWriter(spec)
const inline: number[] = []
for (let i = 0; i < N + 10; i++) {
  const t0 = now()
  writer.write(frame)
  if (i >= 10) inline.push(now() - t0)
}

// OIP body, inline (tensor sampled as bytes + JSON through the byte table)
const oip = new OpenInferenceProtocol({ url: 'http://127.0.0.1:1', model: 'm', input: { ...spec, name: 'images' }, output: { boxes: 'b', scores: 's' } })
const body: number[] = []
let bodyBytes = 0
for (let i = 0; i < 30; i++) {
  const t0 = now()
  const req = oip.prepare(frame) as { length: number }
  if (i >= 5) body.push(now() - t0)
  bodyBytes = req.length
  oip.recycle(req)
}

// OIP body with the binary tensor extension (JSON header + raw FP32)
const oipBin = new OpenInferenceProtocol({ url: 'http://127.0.0.1:1', model: 'm', input: { ...spec, name: 'images' }, output: { boxes: 'b', scores: 's' }, binary: true })
const bodyBin: number[] = []
let bodyBinBytes = 0
for (let i = 0; i < 30; i++) {
  const t0 = now()
  const req = oipBin.prepare(frame) as { length: number }
  if (i >= 5) bodyBin.push(now() - t0)
  bodyBinBytes = req.length
  oipBin.recycle(req)
}

// (b) and (c) piscina
const results: Record<string, unknown> = {}
for (const threads of [1, 2]) {
  const pool = new Piscina({ filename: new URL('../src/prepare-task.js', import.meta.url).href, minThreads: threads, maxThreads: threads })
  const outs = Array.from({ length: threads }, () => new SharedArrayBuffer(640 * 640 * 3 * 4))
  for (let i = 0; i < 10; i++) await pool.run({ frame, spec, out: outs[0] }) // warm up
  const serial: number[] = []
  for (let i = 0; i < N; i++) {
    const t0 = now()
    await pool.run({ frame, spec, out: outs[0] })
    serial.push(now() - t0)
  }
  // Overlapped: keep `threads` tasks running; measure frames per second.
  const t0 = now()
  let next = 0
  await Promise.all(
    outs.map(async (out) => {
      while (next < N) {
        next++
        await pool.run({ frame, spec, out })
      }
    }),
  )
  const fps = Math.round((N / ((now() - t0) / 1000)) * 10) / 10
  results[`piscina_${threads}_threads`] = { latency_ms_p50: median(serial), fps_overlapped: fps }
  await pool.destroy()
}

const out = {
  scope: 'prepare',
  frame: '1920x1080 yuv420p -> 640x640 NCHW FP32 letterbox',
  results: {
    inline: { ms_p50: median(inline), fps: Math.round((1000 / median(inline)) * 10) / 10 },
    oip_body_inline: { ms_p50: median(body), bytes: bodyBytes },
    oip_binary_body_inline: { ms_p50: median(bodyBin), bytes: bodyBinBytes },
    ...results,
  },
}
console.log(JSON.stringify(out, null, 2))
