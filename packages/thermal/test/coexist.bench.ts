// Coexistence bench: the thermal worker beside a 60 FPS 1080p ring load, on the real clock.
// Runs a baseline (ring load only), then thermal on the emulated bus at each speed, and
// prints the thermal rate and loss with the main tick percentiles of every phase.
//   node packages/thermal/dist/test/coexist.bench.js [--seconds 60] [--json FILE]
import { Kernel } from '@heart/kernel'
import { frameLayout } from '@heart/ring'
import { writeFileSync } from 'node:fs'
import { VirtualClock } from '../src/clock.js'
import { Mlx90640 } from '../src/driver.js'
import { Mlx90640Emulator } from '../src/emulator.js'
import { ThermalPoller } from '../src/poller.js'
import { blobScene } from '../src/scenes.js'
import { startThermal } from '../src/service.js'

const args = process.argv.slice(2)
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback
}
const seconds = Number(arg('seconds', '60'))
const jsonFile = args.includes('--json') ? arg('json', '') : ''
const phases: Array<{ name: string; busHz: number | null }> = [
  { name: 'baseline', busHz: null },
  { name: 'thermal_400khz', busHz: 400_000 },
  { name: 'thermal_1mhz', busHz: 1_000_000 },
]

async function phase(busHz: number | null) {
  const kernel = new Kernel()
  const layout = frameLayout(1920, 1080, 'yuv420p')
  const camera = kernel.createRing('camera', { slotBytes: layout.byteLength, maxConsumers: 4, defaultDepth: 2 })
  kernel.start()
  kernel.startService({
    name: 'load',
    entry: new URL('./fixtures/load-producer.js', import.meta.url),
    config: { width: 1920, height: 1080, fps: 60 },
    shared: { ring: camera.buffer },
  })
  for (const name of ['motion', 'encoder']) {
    kernel.startConsumer({ name, ring: 'camera', entry: new URL('./fixtures/load-consumer.js', import.meta.url) })
  }
  const thermal = busHz === null ? null : startThermal(kernel, { busHz, hz: 10 })
  // Figures cover the steady part: from 5 s in (workers started, sensor configured) to the end.
  const warmupS = Math.min(5, seconds / 4)
  await new Promise((r) => setTimeout(r, warmupS * 1000))
  const startPublished = camera.stats().published
  const thermalStart = thermal?.health() ?? null
  await new Promise((r) => setTimeout(r, (seconds - warmupS) * 1000))
  const report = kernel.report()
  const published = Number(camera.stats().published - startPublished)
  const steadyS = seconds - warmupS
  const th = thermal?.health() ?? null
  await kernel.stop()
  return {
    camera_fps: Math.round((published / steadyS) * 10) / 10,
    load_avg_1m: Math.round((await import('node:os')).loadavg()[0]! * 10) / 10,
    tick_ms_p50: report.loop.tick_ms_p50,
    tick_ms_p99: report.loop.tick_ms_p99,
    tick_ms_max: report.loop.tick_ms_max,
    thermal: th && {
      frames_per_s: th.frames_per_s,
      published_total: th.published_total,
      steady_s: steadyS,
      steady_rate_hz: Math.round(((th.published_total - (thermalStart?.published_total ?? 0)) / steadyS) * 100) / 100,
      steady_loss_ratio:
        Math.round(
          ((th.lost_total - (thermalStart?.lost_total ?? 0)) /
            Math.max(1, th.lost_total - (thermalStart?.lost_total ?? 0) + th.subpages_total - (thermalStart?.subpages_total ?? 0))) *
            10000,
        ) / 10000,
      rate_over_run: Math.round((th.published_total / seconds) * 100) / 100,
      subpages_total: th.subpages_total,
      subpages_salvaged_total: th.subpages_salvaged_total,
      lost_total: th.lost_total,
      loss_ratio: Math.round(th.loss_ratio * 10000) / 10000,
      bus_hz_effective: th.bus_hz_effective,
      lost_by_reason: th.lost_by_reason,
      errors_total: th.errors_total,
    },
  }
}

/** CPU the thermal path costs per second of sensor time (poller + calibration + the emulator's scene synthesis). */
async function cpuCost(busHz: number) {
  const controller = new AbortController()
  const clock = new (class extends VirtualClock {
    override async sleep(ms: number, signal?: AbortSignal): Promise<void> {
      await super.sleep(ms, signal)
      if (this.nowMs() >= 60_000) controller.abort()
    }
  })()
  const sensor = new Mlx90640(new Mlx90640Emulator({ clock, busHz, scene: blobScene({ noiseCounts: 1 }) }), { clock, refreshHz: 16 })
  const poller = new ThermalPoller(sensor, { hz: 10 })
  const before = process.cpuUsage()
  await poller.run(controller.signal)
  const used = process.cpuUsage(before)
  return { cpu_ms_per_s: Math.round(((used.user + used.system) / 1000 / 60) * 100) / 100, published: poller.healthInput().published_total }
}

const results: Record<string, unknown> = {}
results.cpu_400khz = await cpuCost(400_000)
console.log('cpu_400khz', JSON.stringify(results.cpu_400khz))
for (const p of phases) {
  results[p.name] = await phase(p.busHz)
  console.log(p.name, JSON.stringify(results[p.name]))
}
const out = { scope: 'thermal-coexist', seconds, machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, results }
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(out, null, 2) + '\n')
console.log(JSON.stringify(out, null, 2))
