// The verify kind's worker under the real kernel: it reads every frame and
// names a consumer that writes into the frames it holds.
import t from 'tap'
import { waitFor } from '@heart/telemetry/testing'
import { Kernel } from '@heart/kernel'
import { frameLayout, type FrameRing } from '@heart/ring'

const verifyEntry = new URL('../src/consumers/verify-worker.js', import.meta.url)
const scribblerEntry = new URL('./fixtures/scribbler-consumer.js', import.meta.url)
const layout = frameLayout(320, 240, 'yuv420p')

interface Report {
  frames: number
  writtenWhileLeased: number
  problems: string[]
  final?: boolean
}

async function run(t: { teardown(fn: () => unknown): void }, withScribbler: boolean): Promise<{ report: Report; warnings: Array<Record<string, unknown> | undefined> }> {
  const warnings: Array<Record<string, unknown> | undefined> = []
  const kernel = new Kernel({ logger: { debug() {}, info() {}, error() {}, warn: (m, f) => void (m.includes('changed while') && warnings.push(f)) } })
  t.teardown(() => kernel.stop())
  const ring: FrameRing = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 2, defaultDepth: 2, maxDepth: 4 })
  const reports: Report[] = []
  kernel.on<Report>('verify.report', (e) => reports.push(e.payload))
  kernel.startConsumer({ name: 'frame_verifier', entry: verifyEntry, ring: 'camera', app: { synthetic: false, reportEveryMs: 100, holdMs: 20 } })
  // A short write on the newest frame (depth 1), so even on a loaded box it works on the frame the verifier holds, not an older one.
  if (withScribbler) kernel.startConsumer({ name: 'scribbler', entry: scribblerEntry, ring: 'camera', consumer: { depth: 1 }, app: { writeMs: 5 } })
  kernel.start()
  await waitFor(() => ring.consumerStats().length === (withScribbler ? 2 : 1))
  const producer = ring.producer()
  let n = 0
  const publish = setInterval(() => {
    const slot = producer.beginWrite()
    if (!slot) return
    slot.bytes.fill(n++ & 0xff, 0, layout.byteLength)
    const now = process.hrtime.bigint()
    producer.commit(slot, { captureTsNs: now, decodeTsNs: now, width: 320, height: 240, pixFmt: 'yuv420p', planes: layout.planes })
  }, 30)
  t.teardown(() => clearInterval(publish))
  await waitFor(() => (reports.at(-1)?.frames ?? 0) >= 40)
  return { report: reports.at(-1)!, warnings }
}

t.test('a consumer that writes into its frames is named by the verify kind', async (t) => {
  const { report, warnings } = await run(t, true)
  t.ok(report.writtenWhileLeased > 0, `${report.writtenWhileLeased} of ${report.frames} frames changed while the verifier held them`)
  t.same(report.problems, ['frame_written_while_leased'])
  t.match(warnings[0], { problem: 'frame_written_while_leased', service: 'frame_verifier' }, 'logged once as a named problem')
})

t.test('with read-only consumers the verify kind finds nothing', async (t) => {
  const { report, warnings } = await run(t, false)
  t.equal(report.writtenWhileLeased, 0)
  t.same(report.problems, [])
  t.same(warnings, [])
})
