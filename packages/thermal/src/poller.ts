// The poll loop: read every subpage the sensor measures, turn it into temperatures, and
// publish the combined 32x24 image at a steady rate. A plain class (no worker, no ring)
// so it runs under test on a virtual clock; the worker wraps it.
//
// Accounting: every subpage the sensor measured is either read (subpages_total) or lost
// (lost_total, by reason). Gaps are found from the ready times and the subpage parity, and
// charged to the failure that caused them, or to `late` when nothing failed (we simply
// polled too slowly).
//
// Salvage: RAM always holds the newest subpage of each pattern, and a subpage writes only
// its own pattern's pixels. So when we were late by one subpage, its pixels are still in
// the RAM we just read; only its aux block (Ta, Vdd, gain, compensation pixel) was
// replaced by the next subpage's, which differs by noise. Those pixels are turned into
// temperatures with the newer aux block and counted as salvaged, not lost.
import type { Clock } from './clock.js'
import { DriftTracker, type DriftOptions } from './drift.js'
import type { Mlx90640 } from './driver.js'
import { ThermalError } from './errors.js'
import { emptyDrift, THERMAL_LOSS_REASONS, type HealthWriteInput, type ThermalLossReason, type ThermalState } from './health.js'
import { FRAME_SUBPAGE_INDEX, FRAME_WORDS, PIXELS } from './registers.js'

export interface CooldownOptions {
  /** Pause reading every this many seconds (0: only on drift). */
  everyS?: number
  /** For this long, with the sensor at its slowest refresh to cut self-heating. */
  forS: number
  /** Also pause when drift is flagged. */
  onDrift?: boolean
}

export interface PollerOptions {
  /** Published frames per second (each combining the latest two subpages). */
  hz?: number
  emissivity?: number
  /** Reflected temperature = Ta + this (Melexis's open-air convention: -8 °C). */
  trOffsetC?: number
  /** Backoff after a failed read: first wait and cap, ms. */
  retryInitialMs?: number
  retryMaxMs?: number
  /** Re-initialise the sensor after this many failures in a row. */
  reinitAfter?: number
  drift?: DriftOptions
  cooldown?: CooldownOptions
  /** Wake this long before the next subpage is due, ms (then poll the status register). */
  wakeEarlyMs?: number
  /** Figures for health only. */
  busHz?: number
  source?: string
  onFrame?: (frame: ThermalFrame) => void
}

export interface ThermalFrame {
  seq: number
  /** CLOCK_MONOTONIC ns when the newest subpage's data-ready was seen. */
  captureTsNs: bigint
  publishTsNs: bigint
  ta: number
  min: number
  max: number
  mean: number
  /** 768 temperatures, °C, row-major. Reused for the next frame: copy what you keep. */
  temps: Float32Array
}

export class ThermalPoller {
  private readonly clock: Clock
  private readonly hz: number
  private readonly emissivity: number
  private readonly trOffset: number
  private readonly retryInitialMs: number
  private readonly retryMaxMs: number
  private readonly reinitAfter: number
  private readonly wakeEarlyMs: number
  private readonly drift: DriftTracker
  private readonly image = new Float32Array(PIXELS)
  private readonly frameWords = new Uint16Array(FRAME_WORDS)

  private state: ThermalState = 'starting'
  private seq = 0
  private published = 0
  private subpages = 0
  private salvaged = 0
  private lost = 0
  private readonly lostByReason = Object.fromEntries(THERMAL_LOSS_REASONS.map((r) => [r, 0])) as Record<ThermalLossReason, number>
  private errors = 0
  private reinits = 0
  private staleTicks = 0
  private lastError: { code: string; message: string; atMs: number } | null = null
  private lastTa: number | null = null
  private lastStats: { min: number; max: number; mean: number } | null = null
  private lastFrameAtMs: number | null = null
  private publishTimes: number[] = []
  private seen = [false, false]
  private fresh = false
  private freshReadyAtMs = 0
  private lastGoodReadyAt: number | null = null
  private lastGoodSubpage = -1
  private lostSinceGood = 0
  private pendingReason: ThermalLossReason | null = null
  private lastCooldownAtMs = 0
  private busHzEffective: number | null = null

  constructor(
    private readonly sensor: Mlx90640,
    private readonly opts: PollerOptions = {},
  ) {
    this.clock = sensor.clock
    this.hz = opts.hz ?? 10
    this.emissivity = opts.emissivity ?? 1
    this.trOffset = opts.trOffsetC ?? -8
    this.retryInitialMs = opts.retryInitialMs ?? 5
    this.retryMaxMs = opts.retryMaxMs ?? 500
    this.reinitAfter = opts.reinitAfter ?? 5
    this.wakeEarlyMs = opts.wakeEarlyMs ?? 3
    this.drift = new DriftTracker(opts.drift)
    if (!(this.hz > 0 && this.hz <= sensor.refreshHz)) {
      throw new ThermalError(
        'BAD_ARGUMENT',
        `thermal hz ${this.hz} needs a subpage refresh of at least that; the sensor is set to ${sensor.refreshHz} Hz`,
      )
    }
  }

  /** Run until the signal aborts. Never throws for sensor trouble: that is counted and retried. */
  async run(signal: AbortSignal): Promise<void> {
    await this.initWithRetry(signal)
    const periodMs = 1000 / this.hz
    let nextPublish = this.clock.nowMs() + periodMs
    let failures = 0
    let backoff = this.retryInitialMs
    this.lastCooldownAtMs = this.clock.nowMs()
    while (!signal.aborted) {
      if (await this.maybeCooldown(signal)) {
        nextPublish = this.clock.nowMs() + periodMs
        continue
      }
      await this.sleepUntilDue(signal)
      if (signal.aborted) break
      try {
        const read = await this.sensor.readSubpage(signal, this.frameWords)
        const salvage = this.accountRead(read.subpage, this.estimateCompletion(read.readyAtMs, read.notReadyAtMs), read.otherPatternIntact)
        if (salvage) {
          const other = read.subpage ^ 1
          read.frame[FRAME_SUBPAGE_INDEX] = other
          this.sensor.computeTo(read.frame, this.image, this.emissivity, undefined)
          read.frame[FRAME_SUBPAGE_INDEX] = read.subpage
          this.seen[other] = true
        }
        if (read.ramReadMs > 0) {
          // Smoothed: one read stretched by a preempted thread should not swing the figure.
          const hz = (read.ramReadBytes * 9 * 1000) / read.ramReadMs
          this.busHzEffective = this.busHzEffective === null ? hz : this.busHzEffective * 0.9 + hz * 0.1
        }
        const ta = this.sensor.computeTo(read.frame, this.image, this.emissivity, undefined)
        this.lastTa = ta
        this.seen[read.subpage] = true
        this.fresh = true
        this.freshReadyAtMs = read.readyAtMs
        this.state = 'running'
        failures = 0
        backoff = this.retryInitialMs
      } catch (error) {
        if (signal.aborted) break
        failures++
        this.recordFailure(error)
        if (failures >= this.reinitAfter) {
          failures = 0
          this.reinits++
          this.state = 'reinit'
          await this.initWithRetry(signal)
        } else {
          this.state = 'failing'
          await this.clock.sleep(backoff, signal)
          backoff = Math.min(backoff * 2, this.retryMaxMs)
        }
      }
      const now = this.clock.nowMs()
      if (now >= nextPublish) {
        if (this.fresh && this.seen[0] && this.seen[1]) this.publish(now)
        else this.staleTicks++
        nextPublish += periodMs
        // After a long stall, do not burst to catch up: resume the cadence from now.
        if (now - nextPublish > periodMs) nextPublish = now + periodMs
      }
    }
    this.state = 'stopped'
  }

  /** The figures health needs (the worker writes them to the shared block). */
  healthInput(): HealthWriteInput {
    const now = this.clock.nowMs()
    const windowMs = 5000
    while (this.publishTimes.length > 0 && now - this.publishTimes[0]! > windowMs) this.publishTimes.shift()
    const n = this.publishTimes.length
    // Frames over the time they took; once publishing stalls the time keeps growing, so the rate decays.
    const fps =
      n > 1 ? ((n - 1) * 1000) / Math.max(this.publishTimes[n - 1]! - this.publishTimes[0]!, now - this.publishTimes[0]! - 1000 / this.hz) : 0
    return {
      state: this.state,
      frames_per_s: Math.round(fps * 100) / 100,
      published_total: this.published,
      subpages_total: this.subpages,
      subpages_salvaged_total: this.salvaged,
      lost_total: this.lost,
      loss_ratio: this.lost + this.subpages > 0 ? this.lost / (this.lost + this.subpages) : 0,
      lost_by_reason: { ...this.lostByReason },
      errors_total: this.errors,
      reinits_total: this.reinits,
      stale_ticks_total: this.staleTicks,
      lastError: this.lastError,
      ta: this.lastTa,
      min: this.lastStats?.min ?? null,
      max: this.lastStats?.max ?? null,
      mean: this.lastStats?.mean ?? null,
      lastFrameAtMs: this.lastFrameAtMs,
      drift: this.published > 0 ? this.drift.figures() : emptyDrift(),
      refresh_hz: this.sensor.refreshHz,
      bus_hz: this.opts.busHz ?? this.sensor.transport.clockHz,
      bus_hz_effective: this.busHzEffective === null ? null : Math.round(this.busHzEffective),
      source: this.opts.source ?? 'unknown',
    }
  }

  private async initWithRetry(signal: AbortSignal): Promise<void> {
    let backoff = this.retryInitialMs
    while (!signal.aborted) {
      try {
        await this.sensor.init()
        // A fresh configuration restarts the part's subpage sequence: start the books afresh.
        this.lastGoodReadyAt = null
        this.seen = [false, false]
        return
      } catch (error) {
        this.recordFailure(error)
        this.state = 'failing'
        await this.clock.sleep(backoff, signal)
        backoff = Math.min(backoff * 2, Math.max(this.retryMaxMs, 1000))
      }
    }
  }

  /**
   * Sleep until shortly before the next subpage is due, so status polling stays short. If
   * it is already due (we are late, or retrying), poll at once: it may still be in RAM.
   */
  private async sleepUntilDue(signal: AbortSignal): Promise<void> {
    if (this.lastGoodReadyAt === null) return
    const wakeAt = this.lastGoodReadyAt + this.sensor.subpagePeriodMs - this.wakeEarlyMs
    const now = this.clock.nowMs()
    if (wakeAt > now) await this.clock.sleep(wakeAt - now, signal)
  }

  /**
   * When did the part finish this subpage? Between the last poll that saw no data and the
   * one that saw it; within that, where the cadence predicts. Anchoring the next wake-up
   * to this estimate (not to when we happened to look) keeps scheduling delays from
   * adding up cycle after cycle. When the very first poll already saw data, the estimate
   * creeps a little earlier, so a sensor whose oscillator runs fast is tracked too.
   */
  private estimateCompletion(readyAtMs: number, notReadyAtMs: number | null): number {
    const period = this.sensor.subpagePeriodMs
    const anchor = this.lastGoodReadyAt
    let c = anchor === null ? readyAtMs : anchor + Math.round((readyAtMs - anchor) / period) * period
    if (notReadyAtMs === null) c = Math.min(c, readyAtMs) - period * 0.02
    else c = Math.min(Math.max(c, notReadyAtMs), readyAtMs)
    return c
  }

  /** Books a successful read; true when the previous, unread subpage's pixels should be salvaged. */
  private accountRead(subpage: number, readyAtMs: number, otherPatternIntact: boolean): boolean {
    let salvage = false
    if (this.lastGoodReadyAt !== null) {
      const period = this.sensor.subpagePeriodMs
      const elapsed = Math.max(1, Math.round((readyAtMs - this.lastGoodReadyAt) / period))
      let missed = elapsed - 1
      // Subpages alternate: parity settles what the timing leaves in doubt.
      const sameSubpage = subpage === this.lastGoodSubpage
      if (sameSubpage && missed % 2 === 0) missed += 1
      else if (!sameSubpage && missed % 2 === 1) missed -= 1
      let extra = Math.max(0, missed - this.lostSinceGood)
      // The subpage just before this one is the only missed one still in RAM.
      if (extra > 0 && otherPatternIntact) {
        salvage = true
        extra--
        this.salvaged++
        this.subpages++
      }
      if (extra > 0) this.countLost(this.pendingReason ?? 'late', extra)
    }
    this.subpages++
    this.lastGoodReadyAt = readyAtMs
    this.lastGoodSubpage = subpage
    this.lostSinceGood = 0
    this.pendingReason = null
    return salvage
  }

  private recordFailure(error: unknown): void {
    this.errors++
    const code = error instanceof ThermalError ? error.code : ((error as { code?: string })?.code ?? 'ERROR')
    const message = error instanceof Error ? error.message : String(error)
    const now = this.clock.nowMs()
    this.lastError = { code, message, atMs: now }
    const reason = lossReason(error)
    this.pendingReason = reason
    // Charge the subpages that have certainly gone by now (all but the one that may still be in RAM).
    if (this.lastGoodReadyAt !== null) {
      const gone = Math.floor((now - this.lastGoodReadyAt) / this.sensor.subpagePeriodMs) - 1
      const n = gone - this.lostSinceGood
      if (n > 0) {
        this.countLost(reason, n)
        this.lostSinceGood += n
      }
    }
  }

  private countLost(reason: ThermalLossReason, n: number): void {
    this.lost += n
    this.lostByReason[reason] += n
  }

  private publish(now: number): void {
    let min = Infinity
    let max = -Infinity
    let sum = 0
    for (let i = 0; i < PIXELS; i++) {
      const v = this.image[i]!
      if (v < min) min = v
      if (v > max) max = v
      sum += v
    }
    const mean = sum / PIXELS
    this.lastStats = { min, max, mean }
    this.fresh = false
    this.published++
    this.lastFrameAtMs = now
    this.publishTimes.push(now)
    if (this.publishTimes.length > 200) this.publishTimes.shift()
    if (this.lastTa !== null) this.drift.add(now, this.lastTa, mean)
    this.opts.onFrame?.({
      seq: this.seq++,
      captureTsNs: msToNs(this.freshReadyAtMs),
      publishTsNs: msToNs(now),
      ta: this.lastTa ?? NaN,
      min,
      max,
      mean,
      temps: this.image,
    })
  }

  private async maybeCooldown(signal: AbortSignal): Promise<boolean> {
    const c = this.opts.cooldown
    if (!c) return false
    const now = this.clock.nowMs()
    const due = (c.everyS ?? 0) > 0 && now - this.lastCooldownAtMs >= c.everyS! * 1000
    const drifting = c.onDrift === true && this.published > 0 && this.drift.figures().flagged
    if (!due && !drifting) return false
    this.state = 'cooling'
    await this.sensor.setRefresh(0.5).catch((e: unknown) => this.recordFailure(e))
    await this.clock.sleep(c.forS * 1000, signal)
    this.drift.reset()
    this.lastCooldownAtMs = this.clock.nowMs()
    // A planned pause is not loss: restart the books at the normal rate.
    await this.initWithRetry(signal)
    return true
  }
}

function lossReason(error: unknown): ThermalLossReason {
  const code = (error as { code?: string })?.code
  switch (code) {
    case 'I2C_TIMEOUT':
      return 'timeout'
    case 'NOT_READY':
      return 'not_ready'
    case 'FRAME_INVALID':
      return /overwritten/.test((error as Error).message) ? 'overwritten' : 'invalid_frame'
    default:
      return 'bus_error'
  }
}

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6))
}
