import t from 'tap'
import { VirtualClock } from '../src/clock.js'
import { Mlx90640 } from '../src/driver.js'
import { Mlx90640Emulator, type EmulatorOptions } from '../src/emulator.js'
import { createThermalHealthBuffer, thermalHealth, ThermalHealthWriter } from '../src/health.js'
import { ThermalPoller, type PollerOptions, type ThermalFrame } from '../src/poller.js'
import { blobScene, TemperatureScene } from '../src/scenes.js'

/** A virtual clock that stops the run once it reaches the end time. */
class StopAt extends VirtualClock {
  constructor(
    private readonly endMs: number,
    private readonly controller: AbortController,
  ) {
    super()
  }
  override async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    await super.sleep(ms, signal)
    if (this.nowMs() >= this.endMs) this.controller.abort()
  }
}

/** Like StopAt, but every sleep oversleeps by up to `jitterMs`, as timers do on a busy machine. */
class JitteryStopAt extends StopAt {
  private state = 12345
  constructor(endMs: number, controller: AbortController, private readonly jitterMs: number) {
    super(endMs, controller)
  }
  override async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.state = (this.state * 1103515245 + 12345) % 2147483648
    await super.sleep(ms + (this.state / 2147483648) * this.jitterMs, signal)
  }
}

async function run(seconds: number, emuOpts: EmulatorOptions = {}, pollOpts: PollerOptions = {}, refreshHz = 16, setup?: (emu: Mlx90640Emulator) => void, jitterMs = 0) {
  const controller = new AbortController()
  const clock = jitterMs > 0 ? new JitteryStopAt(seconds * 1000, controller, jitterMs) : new StopAt(seconds * 1000, controller)
  const emu = new Mlx90640Emulator({ clock, ...emuOpts })
  setup?.(emu)
  const sensor = new Mlx90640(emu, { clock, refreshHz })
  const frames: Array<Omit<ThermalFrame, 'temps'> & { centre: number }> = []
  const poller = new ThermalPoller(sensor, {
    ...pollOpts,
    source: 'emulator',
    onFrame: (f) => {
      frames.push({ ...f, centre: f.temps[11 * 32 + 15]! })
      pollOpts.onFrame?.(f)
    },
  })
  await poller.run(controller.signal)
  const health = poller.healthInput()
  return { emu, sensor, poller, frames, health, clock }
}

for (const busHz of [400_000, 1_000_000]) {
  t.test(`steady 60 s at ${busHz / 1000} kHz: 10 Hz, no loss`, async (t) => {
    const { frames, health, emu } = await run(60, { busHz })
    t.ok(frames.length >= 595 && frames.length <= 601, `${frames.length} frames in 60 s`)
    t.ok(health.frames_per_s >= 9.5 && health.frames_per_s <= 10.5, `frames_per_s ${health.frames_per_s}`)
    t.equal(health.lost_total, 0, 'no subpage lost')
    t.ok(health.subpages_total >= 955, `${health.subpages_total} subpages read`)
    t.equal(health.state, 'stopped')
    const seqs = frames.map((f) => f.seq)
    t.same(seqs, seqs.map((_, i) => i), 'seq counts up without gaps')
    t.ok(frames.every((f) => f.min <= f.mean && f.mean <= f.max), 'min <= mean <= max')
    t.ok(frames.every((f) => Math.abs(f.ta - 30) < 0.05), 'Ta as the scene says')
    t.ok(frames.every((f) => f.max > 33 && f.min < 26), 'the blob shows over the background')
    t.ok(frames.every((f) => f.publishTsNs >= f.captureTsNs), 'published after capture')
    t.ok(Math.abs(health.bus_hz_effective! - busHz) / busHz < 0.01, `effective bus ${health.bus_hz_effective} Hz`)
    const busShare = emu.stats.busMs / 60_000
    t.ok(busShare < 1, `bus busy ${(busShare * 100).toFixed(0)} % of the time`)
  })
}

t.test('timer jitter does not add up: the wake-up is anchored to the sensor cadence', async (t) => {
  // Every sleep oversleeps by up to 20 ms. Were the next wake-up taken from when we
  // happened to see the data, the lateness would accumulate until subpages were lost.
  const { health } = await run(60, { busHz: 400_000 }, {}, 16, undefined, 20)
  t.equal(health.lost_total, 0, `lost ${health.lost_total}`)
  t.ok(health.frames_per_s >= 9.5, `frames_per_s ${health.frames_per_s}`)
})

t.test('transient NACKs are retried and counted; the rate holds', async (t) => {
  const { health } = await run(30, { faultRates: { nack: 0.01 }, seed: 5 })
  t.ok(health.errors_total > 0, `${health.errors_total} errors`)
  t.ok(health.frames_per_s >= 9.5, `frames_per_s ${health.frames_per_s}`)
  t.ok(health.loss_ratio <= 0.05, `loss ${(health.loss_ratio * 100).toFixed(2)} %`)
  t.equal(health.lost_total, health.lost_by_reason.bus_error + health.lost_by_reason.late, 'loss charged to bus errors (or lateness)')
  t.equal(health.lastError?.code, 'I2C_NACK')
})

t.test('repeated failures re-initialise the sensor', async (t) => {
  let emu: Mlx90640Emulator | undefined
  let published = 0
  const { health } = await run(5, {}, {
    reinitAfter: 3,
    onFrame: () => {
      // After 10 frames the RAM read starts failing: 3 failures in a row, then a re-init.
      if (++published === 10) emu!.injectFault({ kind: 'nack', target: 'ram', count: 3 })
    },
  }, 16, (e) => {
    emu = e
  })
  t.equal(health.reinits_total, 1, 're-initialised once')
  t.ok(health.published_total > 40, `${health.published_total} frames: it recovered`)
  t.equal(health.errors_total, 3)
})

t.test('recovers after a burst of timeouts, charging the gap to them', async (t) => {
  let emu: Mlx90640Emulator | undefined
  let published = 0
  const { health, frames } = await run(10, { timeoutMs: 30 }, {
    reinitAfter: 10,
    onFrame: () => {
      if (++published === 20) emu!.injectFault({ kind: 'timeout', target: 'ram', count: 4 })
    },
  }, 16, (e) => {
    emu = e
  })
  t.ok(health.lost_by_reason.timeout >= 3, `lost to timeouts: ${health.lost_by_reason.timeout}`)
  t.equal(health.lost_total, health.lost_by_reason.timeout)
  t.ok(health.frames_per_s >= 9.5, `back to ${health.frames_per_s} frames/s`)
  t.ok(frames.length > 90)
})

t.test('a slow frame handler makes the poller late: missed subpages counted as late', async (t) => {
  let clockRef: VirtualClock | undefined
  const { health } = await run(10, {}, {
    onFrame: (f) => {
      if (f.seq % 10 === 5) clockRef!.block(220) // a 220 ms stall in the handler
    },
  }, 16, (e) => {
    clockRef = e.clock as VirtualClock
  })
  t.ok(health.lost_by_reason.late > 0, `late: ${health.lost_by_reason.late}`)
  t.equal(health.lost_total, health.lost_by_reason.late)
  // Each 220 ms stall skips 3 subpages; the last of them is still in RAM and is salvaged
  // (the next one does not land during the read, with these timings).
  t.ok(health.subpages_salvaged_total > 0, `salvaged: ${health.subpages_salvaged_total}`)
  t.ok(health.lost_total > health.subpages_salvaged_total, 'the older ones are lost')
})

t.test('late by one subpage: its pixels are salvaged from RAM, accurately', async (t) => {
  let clockRef: VirtualClock | undefined
  const errors: number[] = []
  const scene = blobScene({ backgroundC: 22, blobC: 37, periodS: 0, center: [11, 15], ta: 29 })
  const { health } = await run(10, { scene }, {
    onFrame: (f) => {
      if (f.seq > 2) for (let p = 0; p < 768; p++) errors.push(Math.abs(f.temps[p]! - scene.temperatureAt(Math.floor(p / 32), p % 32, 0)))
      // Reads end ~40 ms after a subpage lands: 100 ms more skips the next one, and the read
      // of the one after starts early enough in its period to end before another lands.
      if (f.seq % 10 === 5) clockRef!.block(100)
    },
  }, 16, (e) => {
    clockRef = e.clock as VirtualClock
  })
  t.ok(health.subpages_salvaged_total >= 5, `salvaged: ${health.subpages_salvaged_total}`)
  t.equal(health.lost_total, 0, 'nothing lost')
  t.ok(Math.max(...errors) < 0.5, `worst pixel over all frames ${Math.max(...errors).toFixed(3)} °C`)
})

t.test('salvaged pixels are the skipped subpage, not older data', async (t) => {
  // A scene warming 10 °C/s: how old a pixel's data is shows in its temperature.
  let clockRef: VirtualClock | undefined
  let worstAgeMs = 0
  const scene = new TemperatureScene((_r, _c, timeS) => 20 + 10 * timeS, { ta: 29 })
  const { health } = await run(10, { scene }, {
    onFrame: (f) => {
      const nowS = Number(f.publishTsNs) / 1e9
      if (f.seq > 3) worstAgeMs = Math.max(worstAgeMs, (nowS - (f.min - 20) / 10) * 1000)
      if (f.seq % 10 === 5) clockRef!.block(100)
    },
  }, 16, (e) => {
    clockRef = e.clock as VirtualClock
  })
  t.ok(health.subpages_salvaged_total >= 5)
  // Without salvage, after each stall one half would be from before it (~240 ms old).
  t.ok(worstAgeMs < 200, `oldest pixel data in any frame: ${worstAgeMs.toFixed(0)} ms`)
})

t.test('with data hold nothing is salvaged (missed subpages never reached RAM)', async (t) => {
  const controller = new AbortController()
  const clock = new StopAt(10_000, controller)
  const emu = new Mlx90640Emulator({ clock })
  const sensor = new Mlx90640(emu, { clock, refreshHz: 16, dataHold: true })
  const poller = new ThermalPoller(sensor, { onFrame: (f) => f.seq % 10 === 5 && clock.block(100) })
  await poller.run(controller.signal)
  const h = poller.healthInput()
  t.equal(h.subpages_salvaged_total, 0)
  t.ok(h.lost_by_reason.late > 0, `late: ${h.lost_by_reason.late}`)
})

t.test('drift: a warming die is flagged, a steady one is not', async (t) => {
  const steady = await run(90, { scene: blobScene({ ta: 30 }) }, { drift: { windowS: 30, maxTaCPerMin: 0.5 } })
  t.equal(steady.health.drift.flagged, false)
  t.ok(Math.abs(steady.health.drift.ta_c_per_min) < 0.1)
  const warming = await run(90, { scene: blobScene({ ta: (s) => 30 + s / 30 }) }, { drift: { windowS: 30, maxTaCPerMin: 0.5 } })
  t.equal(warming.health.drift.flagged, true)
  t.ok(Math.abs(warming.health.drift.ta_c_per_min - 2) < 0.2, `Ta slope ${warming.health.drift.ta_c_per_min} °C/min`)
  t.match(warming.health.drift.reason, /Ta changing/)
})

t.test('cool-down pauses reading on a cadence without counting loss', async (t) => {
  const states = new Set<string>()
  const ref: { poller?: ThermalPoller } = {}
  const result = await run(30, {}, {
    cooldown: { everyS: 10, forS: 3 },
    onFrame: () => states.add(ref.poller?.healthInput().state ?? ''),
  })
  ref.poller = result.poller
  // Two pauses of 3 s in 30 s: ~24 s of 10 Hz frames.
  t.ok(result.frames.length > 200 && result.frames.length < 260, `${result.frames.length} frames`)
  t.equal(result.health.lost_total, 0)
})

t.test('the shared health block carries the snapshot to another reader', async (t) => {
  const { health } = await run(3)
  const buffer = createThermalHealthBuffer()
  t.equal(thermalHealth(buffer), null, 'nothing before the first write')
  const writer = new ThermalHealthWriter(buffer)
  writer.write({ ...health, lastError: { code: 'I2C_NACK', message: 'no ack', atMs: 1000 }, lastFrameAtMs: 2500 })
  const snap = thermalHealth(buffer, 3000)!
  t.equal(snap.frames_per_s, health.frames_per_s)
  t.equal(snap.published_total, health.published_total)
  t.equal(snap.loss_ratio, 0)
  t.same(snap.last_error, { code: 'I2C_NACK', message: 'no ack', age_ms: 2000 })
  t.equal(snap.last_frame_age_ms, 500)
  t.equal(snap.source, 'emulator')
  t.equal(snap.state, 'stopped')
  t.ok(Math.abs(snap.ta! - 30) < 0.05)
  t.throws(() => new ThermalHealthWriter(new SharedArrayBuffer(8)), RangeError)
})

t.test('a rate the sensor cannot give is refused', async (t) => {
  const clock = new VirtualClock()
  const sensor = new Mlx90640(new Mlx90640Emulator({ clock }), { clock, refreshHz: 8 })
  t.throws(() => new ThermalPoller(sensor, { hz: 10 }), { code: 'BAD_ARGUMENT' })
})
