// What one readInto() costs the whole process: CPU per frame for one 1080p60
// test camera read at real time (`camera`), or CPU and wall time per call for
// a tiny one read flat out (`hop`: decoding costs little, so the hand-over to
// the source's thread and back dominates). Prints one JSON line.
//   node native/dist/test/read-cost.js camera 12
//   node native/dist/test/read-cost.js hop 5000
// docs/native.md (Threads) has the figures and how main's build was compared.
import { monotonicNs, Source, type SourceSpec } from '@heart/native'

const [mode = 'camera', amount] = process.argv.slice(2)

function spec(options: Partial<SourceSpec>): SourceSpec {
  return { kind: 'testsrc', target: '', redacted: 'testsrc://', ...options }
}

async function camera(seconds: number): Promise<object> {
  const source = await Source.open(spec({ width: 1920, height: 1080, fps: 60 }))
  const dst = new Uint8Array(new SharedArrayBuffer(source.info.byteLength))
  for (let i = 0; i < 120; i++) await source.readInto(dst) // 2 s of warm-up
  const cpuBefore = process.cpuUsage()
  const startedAt = performance.now()
  const receiptToJsMs: number[] = []
  while (performance.now() - startedAt < seconds * 1000) {
    const frame = await source.readInto(dst)
    receiptToJsMs.push(Number(monotonicNs() - frame.captureTsNs) / 1e6)
  }
  const cpu = process.cpuUsage(cpuBefore)
  const wallS = (performance.now() - startedAt) / 1000
  source.close()
  const cpuMs = (cpu.user + cpu.system) / 1000
  receiptToJsMs.sort((a, b) => a - b)
  const at = (p: number): number => receiptToJsMs[Math.floor((receiptToJsMs.length * p) / 100)]!
  return {
    mode: 'camera',
    frames: receiptToJsMs.length,
    fps: receiptToJsMs.length / wallS,
    cpu_ms_per_frame: cpuMs / receiptToJsMs.length,
    cpu_percent: cpuMs / 10 / wallS,
    receipt_to_js_ms_p50: at(50),
    receipt_to_js_ms_p99: at(99),
  }
}

async function hop(calls: number): Promise<object> {
  const source = await Source.open(spec({ width: 64, height: 64, fps: 60, realtime: false }))
  const dst = new Uint8Array(new SharedArrayBuffer(source.info.byteLength))
  for (let i = 0; i < 500; i++) await source.readInto(dst)
  const cpuBefore = process.cpuUsage()
  const startedAt = performance.now()
  for (let i = 0; i < calls; i++) await source.readInto(dst)
  const cpu = process.cpuUsage(cpuBefore)
  const wallMs = performance.now() - startedAt
  source.close()
  return { mode: 'hop', calls, cpu_us_per_read: (cpu.user + cpu.system) / calls, wall_us_per_read: (wallMs * 1000) / calls }
}

if (mode === 'camera') console.log(JSON.stringify(await camera(Number(amount ?? 12))))
else if (mode === 'hop') console.log(JSON.stringify(await hop(Number(amount ?? 5000))))
else {
  console.error(`read-cost: mode must be 'camera' or 'hop', got '${mode}'`)
  process.exitCode = 2
}
