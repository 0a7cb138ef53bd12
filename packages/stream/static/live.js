// heart live view: plain browser JavaScript, no build step, no CDN.
//
// Data sources, all served by heart itself (CAM: the camera picked, see watchCamera):
//   /cameras/CAM/live.mp4            the video: the camera's own H.264 through Media Source Extensions,
//                                    where live.json says it is served and the browser plays its codec
//   <img src="/cameras/CAM/stream.mjpeg">  the video otherwise (multipart/x-mixed-replace)
//   fetch('/clock')                  heart's clock, for the latency figure
//   EventSource('/cameras/CAM/events')  frame metadata, motion boxes, detections, thermal frames (SSE)
//   fetch('/health') each 1 s        the health tables and the camera strip (its `cameras` names the cameras)
'use strict'

const $ = (id) => document.getElementById(id)

/** How long motion boxes and detections stay drawn without a newer event. */
const OVERLAY_TTL_MS = 1500
const HEALTH_POLL_MS = 1000
/** FrameFlags.AI_LOCKED in @heart/ring. */
const FLAG_AI_LOCKED = 1

/** The camera on screen and what the page knows of all of them. */
const view = {
  camera: null, // null: /health has no `cameras` (an older heart): the unprefixed routes, as before
  names: [], // /health's cameras, in its order
  watch: null, // the current watchCamera(): a switch replaces it
  events: null, // this camera's EventSource
  health: null, // the latest /health answer, to redraw the tables at once on a switch
}

/**
 * One look at one camera: its URLs and an AbortController for its fetches.
 * Work begun for it (a retry timer, a stream read) carries it and stops once
 * it is no longer view.watch, so nothing keeps asking for a camera left behind.
 */
function watchCamera(camera) {
  const prefix = camera === null ? '' : `/cameras/${encodeURIComponent(camera)}`
  return { camera, abort: new AbortController(), url: (path) => prefix + path, stale() { return this !== view.watch } }
}

const state = {
  frame: null, // latest FrameMetaJson
  frameTimes: [], // arrival times of recent frame events, for the stream fps
  motion: null,
  motionAt: 0,
  detection: null,
  detectionAt: 0,
  thermal: null,
}

// ---------------------------------------------------------------- video + overlay

const video = $('video')
const liveVideo = $('live-video')
const overlay = $('overlay')
const videoMsg = $('video-msg')

video.addEventListener('load', () => {
  videoMsg.hidden = true
})
video.addEventListener('error', () => {
  if (live.mode !== 'mjpeg' || !video.getAttribute('src')) return
  // The stream ended (heart restarted, network blip): show it and reconnect.
  videoMsg.hidden = false
  videoMsg.textContent = 'video lost, reconnecting…'
  const watch = view.watch
  setTimeout(() => {
    if (!watch.stale() && live.mode === 'mjpeg') video.src = watch.url('/stream.mjpeg') + '?t=' + Date.now()
  }, 1000)
})

// ---------------------------------------------------------------- passthrough (MSE)

/** Seek to the live edge when more than this is buffered ahead of what plays. */
const LIVE_EDGE_MAX_S = 0.5
/** Where a seek to the live edge lands, behind the newest frame. */
const LIVE_EDGE_TARGET_S = 0.03
/** More than this ahead (a stall left the playhead behind) plays faster until it is caught up: no jump. */
const CATCH_UP_ABOVE_S = 0.12
const CATCH_UP_RATE = 1.15
/** Buffer kept behind the playhead; older media is removed. */
const KEEP_BEHIND_S = 10
const LATENCY_SAMPLES = 600
/** Seconds from 1900 (NTP) to 1970. */
const NTP_UNIX_OFFSET_S = 2208988800

/** What the page plays and measures; the tests read it (window.heartLive). */
const live = {
  mode: 'starting', // 'mse' | 'mjpeg'
  reason: '',
  mimeCodec: null,
  timescale: 90000,
  clockOffsetMs: null, // heart's wall clock minus this browser's
  clockRttMs: null,
  latencyMs: [], // glass-to-glass, one per frame shown
  edgeSeeks: 0,
  camera: null, // the camera shown (null: the unprefixed routes)
  captureByMediaTime: new Map(), // media time (timescale ticks) -> wall ms heart received the frame
}
window.heartLive = live

async function startVideo(watch) {
  const stale = () => watch.stale()
  // ?video=mjpeg asks for the encoder's MJPEG even where passthrough would play.
  if (/[?&]video=mjpeg(&|$)/.test(location.search)) return startMjpeg(watch, 'asked for with ?video=mjpeg')
  let info = await liveInfo(watch)
  // heart (or its camera) is starting: give the passthrough a few seconds before settling for MJPEG.
  for (let i = 0; i < 10 && !stale() && info && !info.available && info.state !== 'failed'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    if (!stale()) info = await liveInfo(watch)
  }
  if (stale()) return
  const type = info && info.mimeCodec ? `video/mp4; codecs="${info.mimeCodec}"` : null
  if (!window.MediaSource || (type && !MediaSource.isTypeSupported(type))) return startMjpeg(watch, `this browser does not play ${info && info.mimeCodec} through MSE`)
  if (!info || !info.available) {
    startMjpeg(watch, info ? info.problem : 'no live.mp4 on this server')
    // Served later (the camera came up, or reopened with H.264)? Switch to it then.
    if (info) setTimeout(() => !stale() && startVideo(watch), 5000)
    return
  }
  live.mimeCodec = info.mimeCodec
  live.timescale = info.timescale || 90000
  try {
    await playPassthrough(watch, info.url || watch.url('/live.mp4'), type)
  } catch (err) {
    live.reason = String(err)
  }
  // Another camera was picked: its own startVideo runs; this one is done.
  if (stale()) return
  // The stream ended (heart restarted, the camera reopened): look again.
  videoMsg.hidden = false
  videoMsg.textContent = 'video lost, reconnecting…'
  setTimeout(() => !stale() && startVideo(watch), 1000)
}

async function liveInfo(watch) {
  try {
    const res = await fetch(watch.url('/live.json'), { cache: 'no-store', signal: watch.abort.signal })
    return res.ok ? await res.json() : null
  } catch {
    // No passthrough here (an older heart, a proxy that does not pass it): MJPEG.
    return null
  }
}

function startMjpeg(watch, reason) {
  live.reason = reason || ''
  $('latency').textContent = ''
  if (live.mode === 'mjpeg') return
  live.mode = 'mjpeg'
  liveVideo.hidden = true
  video.hidden = false
  video.src = watch.url('/stream.mjpeg')
}

async function playPassthrough(watch, url, type) {
  live.mode = 'mse'
  video.hidden = true
  // Off MJPEG: with no MJPEG viewer left the encoder goes idle.
  video.removeAttribute('src')
  liveVideo.hidden = false
  const source = new MediaSource()
  liveVideo.src = URL.createObjectURL(source)
  await new Promise((resolve) => source.addEventListener('sourceopen', resolve, { once: true }))
  if (watch.stale()) return
  const buffer = source.addSourceBuffer(type)
  buffer.mode = 'segments' // the fragments' own times (tfdt): the prft boxes name frames by them
  const pending = []
  const append = () => {
    if (buffer.updating || pending.length === 0 || source.readyState !== 'open') return
    const bytes = concat(pending.splice(0))
    try {
      buffer.appendBuffer(bytes)
    } catch (err) {
      // QuotaExceeded: drop what is behind and let the next fragment try again.
      live.reason = String(err)
      trim(buffer, 0)
    }
  }
  buffer.addEventListener('updateend', () => {
    followLiveEdge(buffer)
    trim(buffer, KEEP_BEHIND_S)
    append()
  })
  liveVideo.addEventListener('playing', () => (videoMsg.hidden = true), { once: true })
  watchFrames(watch)
  // The switch to another camera aborts it, which ends the read loop below with an AbortError.
  const res = await fetch(url, { cache: 'no-store', signal: watch.abort.signal })
  if (!res.ok || !res.body) throw new Error(`live.mp4 answered ${res.status}`)
  const reader = res.body.getReader()
  const boxes = boxSplitter((type, box) => {
    if (type === 'prft') notePrft(box)
    else pending.push(box)
  })
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    boxes.push(value)
    append()
  }
  if (source.readyState === 'open') source.endOfStream()
}

/** Splits a byte stream into whole top-level MP4 boxes (size, type, body). */
function boxSplitter(onBox) {
  let held = new Uint8Array(0)
  return {
    push(chunk) {
      held = held.length === 0 ? chunk : concat([held, chunk])
      let at = 0
      while (held.length - at >= 8) {
        const view = new DataView(held.buffer, held.byteOffset + at)
        let size = view.getUint32(0)
        if (size === 1) {
          if (held.length - at < 16) break
          size = Number(view.getBigUint64(8))
        }
        if (size < 8 || held.length - at < size) break
        const type = String.fromCharCode(held[at + 4], held[at + 5], held[at + 6], held[at + 7])
        onBox(type, held.subarray(at, at + size))
        at += size
      }
      held = held.slice(at)
    },
  }
}

function concat(parts) {
  if (parts.length === 1) return parts[0]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** A prft box (version 1): the wall-clock time heart received the frame of this media time. */
function notePrft(box) {
  const view = new DataView(box.buffer, box.byteOffset, box.byteLength)
  const ntpSeconds = view.getUint32(16)
  const fraction = view.getUint32(20)
  const wallMs = (ntpSeconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 2 ** 32) * 1000
  const mediaTime = box[8] === 1 ? view.getUint32(24) * 2 ** 32 + view.getUint32(28) : view.getUint32(24)
  live.captureByMediaTime.set(mediaTime, wallMs)
  if (live.captureByMediaTime.size > 2 * LATENCY_SAMPLES) live.captureByMediaTime.delete(live.captureByMediaTime.keys().next().value)
}

function followLiveEdge(buffer) {
  const ranges = buffer.buffered
  if (ranges.length === 0) return
  const end = ranges.end(ranges.length - 1)
  const t = liveVideo.currentTime
  // Not yet in a buffered range (the start), or too far behind the newest frame: jump to the edge.
  const ahead = end - t
  if (ahead > LIVE_EDGE_MAX_S || t < ranges.start(0)) {
    liveVideo.currentTime = Math.max(ranges.start(ranges.length - 1), end - LIVE_EDGE_TARGET_S)
    live.edgeSeeks++
  }
  const rate = ahead > CATCH_UP_ABOVE_S ? CATCH_UP_RATE : 1
  if (liveVideo.playbackRate !== rate) liveVideo.playbackRate = rate
  if (liveVideo.paused) liveVideo.play().catch(() => undefined)
}

function trim(buffer, keepS) {
  const ranges = buffer.buffered
  if (buffer.updating || ranges.length === 0) return
  const upTo = liveVideo.currentTime - keepS
  if (upTo - ranges.start(0) > 2) buffer.remove(0, upTo)
}

/** The receipt time of the frame at this media time (seconds); the browser's rounding may differ by a tick or two. */
function captureTimeOf(mediaTimeS) {
  const ticks = Math.round(mediaTimeS * live.timescale)
  for (const d of [0, -1, 1, -2, 2]) {
    const wallMs = live.captureByMediaTime.get(ticks + d)
    if (wallMs !== undefined) return wallMs
  }
  return undefined
}

/** Each frame shown: when it was shown against when heart received it, both on heart's clock. */
function watchFrames(watch) {
  if (!('requestVideoFrameCallback' in liveVideo)) return
  const onFrame = (_now, meta) => {
    const captured = captureTimeOf(meta.mediaTime)
    if (captured !== undefined && live.clockOffsetMs !== null) {
      const shownWallMs = performance.timeOrigin + meta.presentationTime + live.clockOffsetMs
      live.latencyMs.push(shownWallMs - captured)
      if (live.latencyMs.length > LATENCY_SAMPLES) live.latencyMs.shift()
    }
    if (live.mode === 'mse' && !watch.stale()) liveVideo.requestVideoFrameCallback(onFrame)
  }
  liveVideo.requestVideoFrameCallback(onFrame)
}

/**
 * heart's wall clock minus this browser's, from a few GET /clock: each
 * answer was made between sending and receiving, so the midpoint of the
 * shortest round trip is the best guess (error at most half that trip).
 */
async function measureClock() {
  let best = null
  for (let i = 0; i < 5; i++) {
    try {
      const sent = performance.timeOrigin + performance.now()
      const res = await fetch('/clock', { cache: 'no-store' })
      const body = await res.json()
      const received = performance.timeOrigin + performance.now()
      const rtt = received - sent
      if (!best || rtt < best.rtt) best = { rtt, offset: body.wallMs - (sent + received) / 2 }
    } catch {
      return
    }
  }
  if (best) {
    live.clockOffsetMs = best.offset
    live.clockRttMs = best.rtt
  }
}

function percentile(values, p) {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

function showLatency() {
  if (live.mode !== 'mse') return
  const q = liveVideo.getVideoPlaybackQuality ? liveVideo.getVideoPlaybackQuality() : null
  const frames = q ? ` · ${q.totalVideoFrames - q.droppedVideoFrames} frames shown` : ''
  const n = live.latencyMs.length
  if (n === 0) {
    $('latency').textContent = `passthrough ${live.mimeCodec}${frames}`
    return
  }
  const last = live.latencyMs[n - 1]
  $('latency').textContent =
    `passthrough ${live.mimeCodec} · latency ${last.toFixed(0)} ms ` +
    `(p50 ${percentile(live.latencyMs, 50).toFixed(0)} / p99 ${percentile(live.latencyMs, 99).toFixed(0)} ms of ${n} frames, clock ±${(live.clockRttMs / 2).toFixed(1)} ms)${frames}`
}

function drawOverlay() {
  const w = overlay.clientWidth
  const h = overlay.clientHeight
  const dpr = window.devicePixelRatio || 1
  if (overlay.width !== Math.round(w * dpr) || overlay.height !== Math.round(h * dpr)) {
    overlay.width = Math.round(w * dpr)
    overlay.height = Math.round(h * dpr)
  }
  const ctx = overlay.getContext('2d')
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
  ctx.clearRect(0, 0, w, h)
  const now = performance.now()
  const styles = getComputedStyle(document.documentElement)
  if (state.motion && now - state.motionAt < OVERLAY_TTL_MS) {
    const [sx, sy] = scaleFor(state.motion, w, h)
    ctx.setLineDash([6, 4])
    ctx.lineWidth = 3
    ctx.strokeStyle = styles.getPropertyValue('--motion')
    for (const b of state.motion.boxes) ctx.strokeRect(b.x * sx, b.y * sy, b.w * sx, b.h * sy)
    ctx.setLineDash([])
  }
  if (state.detection && now - state.detectionAt < OVERLAY_TTL_MS) {
    const [sx, sy] = scaleFor(state.detection, w, h)
    const colour = styles.getPropertyValue('--detection')
    ctx.lineWidth = 2
    ctx.font = '600 12px system-ui, sans-serif'
    for (const d of state.detection.detections) {
      const x = d.box.x * sx
      const y = d.box.y * sy
      ctx.strokeStyle = colour
      ctx.strokeRect(x, y, d.box.w * sx, d.box.h * sy)
      const label = `${d.label} ${Math.round(d.confidence * 100)}%`
      const tw = ctx.measureText(label).width + 8
      const ly = y >= 16 ? y - 16 : y
      ctx.fillStyle = colour
      ctx.fillRect(x, ly, tw, 16)
      ctx.fillStyle = '#000'
      ctx.fillText(label, x + 4, ly + 12)
    }
  }
}

/** Boxes are in source-frame pixels unless the event names its own coordinate space. */
function scaleFor(event, w, h) {
  const fw = event.frameWidth || state.frame?.srcWidth || liveVideo.videoWidth || w
  const fh = event.frameHeight || state.frame?.srcHeight || liveVideo.videoHeight || h
  return [w / fw, h / fh]
}

function showFrameInfo() {
  const f = state.frame
  if (!f) return
  const now = performance.now()
  state.frameTimes = state.frameTimes.filter((t) => now - t < 2000)
  const fps = state.frameTimes.length / 2
  $('frame-info').textContent =
    `#${f.seq} · ${f.width}×${f.height} of ${f.srcWidth}×${f.srcHeight} · ${fps.toFixed(1)} fps · ` +
    `${(f.bytes / 1024).toFixed(0)} kB · encode ${(f.encodeUs / 1000).toFixed(1)} ms`
  $('ai-lock').hidden = (f.flags & FLAG_AI_LOCKED) === 0
}

// ---------------------------------------------------------------- thermal

// An "iron" palette: black, purple, red, orange, yellow, white.
const PALETTE_STOPS = [
  [0.0, [0, 0, 10]],
  [0.2, [60, 0, 120]],
  [0.45, [190, 20, 90]],
  [0.65, [240, 90, 10]],
  [0.85, [255, 200, 30]],
  [1.0, [255, 255, 230]],
]
const PALETTE = buildPalette(256)

function buildPalette(n) {
  const out = new Uint8ClampedArray(n * 3)
  for (let i = 0; i < n; i++) {
    const t = i / (n - 1)
    let k = 0
    while (k < PALETTE_STOPS.length - 2 && t > PALETTE_STOPS[k + 1][0]) k++
    const [t0, c0] = PALETTE_STOPS[k]
    const [t1, c1] = PALETTE_STOPS[k + 1]
    const u = (t - t0) / (t1 - t0)
    for (let c = 0; c < 3; c++) out[i * 3 + c] = c0[c] + (c1[c] - c0[c]) * u
  }
  return out
}

const thermalCanvas = $('thermal')
const scratch = document.createElement('canvas')

function drawScale() {
  const c = $('thermal-scale')
  const ctx = c.getContext('2d')
  const img = ctx.createImageData(c.width, 1)
  for (let x = 0; x < c.width; x++) {
    const p = Math.round((x / (c.width - 1)) * 255) * 3
    img.data.set([PALETTE[p], PALETTE[p + 1], PALETTE[p + 2], 255], x * 4)
  }
  for (let y = 0; y < c.height; y++) ctx.putImageData(img, 0, y)
}

function drawThermal() {
  const t = state.thermal
  if (!t) return
  $('t-ambient').textContent = `${t.ta.toFixed(1)} °C`
  $('t-min').textContent = `${t.min.toFixed(1)} °C`
  $('t-max').textContent = `${t.max.toFixed(1)} °C`
  $('thermal-info').textContent = `#${t.seq} · ${t.width}×${t.height}`
  if (t.temperatures.length !== t.width * t.height) return
  scratch.width = t.width
  scratch.height = t.height
  const sctx = scratch.getContext('2d')
  const img = sctx.createImageData(t.width, t.height)
  const span = t.max - t.min || 1
  for (let i = 0; i < t.temperatures.length; i++) {
    const v = Math.min(1, Math.max(0, (t.temperatures[i] - t.min) / span))
    const p = Math.round(v * 255) * 3
    img.data[i * 4] = PALETTE[p]
    img.data[i * 4 + 1] = PALETTE[p + 1]
    img.data[i * 4 + 2] = PALETTE[p + 2]
    img.data[i * 4 + 3] = 255
  }
  sctx.putImageData(img, 0, 0)
  const ctx = thermalCanvas.getContext('2d')
  ctx.imageSmoothingEnabled = true // 32x24 is coarse: a smooth upscale reads better than blocks
  ctx.imageSmoothingQuality = 'high'
  ctx.drawImage(scratch, 0, 0, thermalCanvas.width, thermalCanvas.height)
}

// ---------------------------------------------------------------- events (SSE)

function connectEvents(watch) {
  const events = new EventSource(watch.url('/events'))
  view.events = events
  events.addEventListener('frame', (e) => {
    state.frame = JSON.parse(e.data)
    state.frameTimes.push(performance.now())
  })
  events.addEventListener('motion', (e) => {
    state.motion = JSON.parse(e.data)
    state.motionAt = performance.now()
  })
  events.addEventListener('detection', (e) => {
    state.detection = JSON.parse(e.data)
    state.detectionAt = performance.now()
  })
  events.addEventListener('thermal', (e) => {
    state.thermal = JSON.parse(e.data)
    drawThermal()
  })
  // EventSource reconnects by itself (the server sends `retry: 1000`).
}

// ---------------------------------------------------------------- health

const fmt = {
  n: (v) => (v === null || v === undefined ? '–' : Number(v).toLocaleString('en-US')),
  ms: (v) => (v === null || v === undefined ? '–' : `${Number(v).toFixed(Number(v) < 10 ? 2 : 1)} ms`),
  fps: (v) => (v === null || v === undefined ? '–' : Number(v).toFixed(1)),
  pct: (v) => (v === null || v === undefined ? '–' : `${(Number(v) * 100).toFixed(2)} %`),
}

function row(label, value, cls) {
  const tr = document.createElement('tr')
  const th = document.createElement('th')
  th.textContent = label
  const td = document.createElement('td')
  td.textContent = value
  if (cls) td.className = cls
  tr.append(th, td)
  return tr
}

function fillTable(id, rows) {
  const tbody = $(id).tBodies[0]
  tbody.replaceChildren(...rows)
}

function showHealth(h) {
  const status = ['green', 'yellow', 'red'].includes(h.status) ? h.status : 'unknown'
  const pill = $('status')
  pill.className = `pill ${status}`
  pill.textContent = status
  pill.title = (h.reasons || []).join('\n') || 'all good'
  showCameraStrip(h)
  // With `cameras`, the tables follow the picked camera; without, the one camera's wave-1 keys.
  const picked = view.camera !== null && h.cameras ? h.cameras[view.camera] : undefined
  const cam = picked || h.camera || {}
  const label = picked ? view.camera : 'camera'
  $('camera-state').textContent = cam.state ? `${label} ${cam.state}${cam.backend ? ' · ' + cam.backend : ''}` : ''
  $('camera-table').caption.textContent = label
  const age = cam.last_frame_age_ms
  fillTable('camera-table', [
    row('state', cam.state ?? '–', cam.state === 'running' || cam.state === 'streaming' ? 'good' : undefined),
    row('frames / s', fmt.fps(cam.frames_per_s)),
    row('decode p50 / p99', `${fmt.ms(cam.decode_ms_p50)} / ${fmt.ms(cam.decode_ms_p99)}`),
    row('first-frame decode', fmt.ms(cam.decode_ms_first_frame)),
    row('last frame age', fmt.ms(age), age > 1000 ? 'bad' : age > 200 ? 'warn' : undefined),
    row('reopens', fmt.n(cam.reopens_total), cam.reopens_total > 0 ? 'warn' : undefined),
    row('decode errors', fmt.n(cam.decode_errors_total), cam.decode_errors_total > 0 ? 'warn' : undefined),
    row('backend', cam.backend ?? '–'),
    row('AI lock', cam.ai_locked ? 'locked' : 'free', cam.ai_locked ? 'bad' : undefined),
  ])
  const loop = h.loop || {}
  const th = h.thermal
  const rows = [
    row('tick p50', fmt.ms(loop.tick_ms_p50)),
    row('tick p99', fmt.ms(loop.tick_ms_p99), loop.tick_ms_p99 > 8 ? 'bad' : undefined),
    row('tick max', fmt.ms(loop.tick_ms_max)),
  ]
  if (th) {
    rows.push(
      row('thermal frames / s', fmt.fps(th.frames_per_s)),
      row('thermal lost', fmt.n(th.lost_total)),
      row('thermal loss', fmt.pct(th.loss_ratio), th.loss_ratio > 0.05 ? 'bad' : undefined),
    )
  } else {
    rows.push(row('thermal', 'not running'))
  }
  if (h.stream) {
    rows.push(row('stream viewers', fmt.n(h.stream.viewers)), row('frames skipped by slow viewers', fmt.n(h.stream.skipped)))
  }
  if (h.reasons && h.reasons.length > 0) rows.push(row('why not green', h.reasons.join('; '), status === 'red' ? 'bad' : 'warn'))
  fillTable('loop-table', rows)

  const consumers = Object.entries((picked ? picked.consumers : h.consumers) || {})
  const tbody = $('consumers-table').tBodies[0]
  tbody.replaceChildren(
    ...consumers.map(([name, c]) => {
      const tr = document.createElement('tr')
      const dropped = droppedTotal(c)
      const reasons = document.createElement('td')
      // Intended skips (fpsCap, AI-lock) are labelled as skips: they are not lost frames.
      const books = [['', c.dropped], ['skipped ', c.skipped]]
      for (const [label, book] of books) {
        for (const [reason, n] of Object.entries(book || {})) {
          if (!n) continue
          const span = document.createElement('span')
          span.className = 'reason'
          const b = document.createElement('b')
          b.textContent = fmt.n(n)
          span.append(`${label}${reason} `, b)
          reasons.append(span)
        }
      }
      if (!reasons.childNodes.length) reasons.textContent = '–'
      const cells = [name, fmt.n(c.delivered), fmt.n(c.lag), fmt.n(dropped)].map((text, i) => {
        const td = document.createElement('td')
        td.textContent = text
        if (i > 0) td.className = 'num'
        return td
      })
      if (c.state && c.state !== 'active') cells[0].textContent += ` (${c.state})`
      // A consumer's outside service (the detection server) that does not answer: say so where the consumer is.
      if (c.service && (c.service.state === 'unreachable' || c.service.state === 'failing')) {
        cells[0].textContent += ` · service ${c.service.state}`
        cells[0].className = 'warn'
        cells[0].title = `${c.service.errors_total} errors; last: ${c.service.last_error || '–'}`
      }
      tr.append(...cells, reasons)
      return tr
    }),
  )
  const workers = Object.entries(h.workers || {})
  $('workers-table').hidden = workers.length === 0
  $('workers-table').tBodies[0].replaceChildren(
    ...workers.map(([name, w]) => {
      const tr = document.createElement('tr')
      const cells = [name, w.state, fmt.n(w.starts), fmt.n(w.crashes), w.last_crash || '–'].map((text) => {
        const td = document.createElement('td')
        td.textContent = text
        return td
      })
      cells[1].className = w.state === 'running' ? 'good' : w.state === 'failed' ? 'bad' : 'warn'
      cells[2].className = 'num'
      cells[3].className = w.crashes > 0 ? 'num warn' : 'num'
      tr.append(...cells)
      return tr
    }),
  )
  $('updated').textContent = `health ${new Date().toLocaleTimeString()}`
}

function droppedTotal(consumer) {
  return Object.values(consumer.dropped || {}).reduce((a, b) => a + b, 0)
}

// ---------------------------------------------------------------- cameras: picker and strip

const picker = $('camera-picker')
const strip = $('cameras')

picker.addEventListener('change', () => selectCamera(picker.value))
strip.addEventListener('click', (e) => {
  const button = e.target.closest('button[data-camera]')
  if (button) selectCamera(button.dataset.camera)
})
// A link edited by hand (#camera=rear) switches too.
window.addEventListener('hashchange', () => {
  const asked = askedCamera()
  if (asked !== null && view.names.includes(asked)) selectCamera(asked)
})

/** The camera a link names: ?camera=NAME, else #camera=NAME. */
function askedCamera() {
  return new window.URLSearchParams(location.search).get('camera') ?? new window.URLSearchParams(location.hash.slice(1)).get('camera')
}

/** Writes the camera into the page's URL (where the link named it, hash or query), so a copied link opens it. */
function linkToCamera(name) {
  const url = new URL(location.href)
  const hash = new window.URLSearchParams(url.hash.slice(1))
  if (hash.has('camera')) {
    hash.set('camera', name)
    url.hash = hash.toString()
  } else {
    url.searchParams.set('camera', name)
  }
  if (url.href !== location.href) window.history.replaceState(null, '', url.href)
}

/**
 * green / yellow / red / off for one camera: its own `status` where /health
 * gives one, else from its state and last frame age (the thresholds of the
 * camera table). Drop counts are totals since start, so they colour their
 * own figure, not the camera: one old drop must not leave it yellow for good.
 */
function cameraColour(cam) {
  if (['green', 'yellow', 'red'].includes(cam.status)) return cam.status
  if (cam.state === 'disabled') return 'off'
  if (cam.state === 'connecting' || cam.state === 'idle') return 'yellow'
  if (cam.state !== 'streaming' && cam.state !== 'running') return 'red'
  const age = cam.last_frame_age_ms
  return age > 1000 ? 'red' : age > 200 ? 'yellow' : 'green'
}

function noteCameras(h) {
  const names = h.cameras ? Object.keys(h.cameras) : []
  if (names.join('\n') === view.names.join('\n')) return
  view.names = names
  picker.replaceChildren(
    ...names.map((name) => {
      const option = document.createElement('option')
      option.value = name
      option.textContent = name
      return option
    }),
  )
  if (view.camera !== null) picker.value = view.camera
  // One camera: nothing to pick, the page looks as it always has.
  picker.hidden = names.length < 2
  strip.hidden = names.length < 2
}

/** One button per camera: its colour, state, fps, last frame age and its consumers' drops; the picked one pressed. */
function showCameraStrip(h) {
  if (strip.hidden) return
  strip.replaceChildren(
    ...view.names.map((name) => {
      const cam = h.cameras[name] || {}
      const drops = Object.values(cam.consumers || {}).reduce((n, c) => n + droppedTotal(c), 0)
      const age = cam.last_frame_age_ms
      const button = document.createElement('button')
      button.type = 'button'
      button.dataset.camera = name
      button.className = `cam ${cameraColour(cam)}`
      button.setAttribute('aria-pressed', String(name === view.camera))
      button.title = cam.last_error || cam.source || ''
      const title = document.createElement('b')
      title.textContent = name
      const figure = (cls, text, warn) => {
        const span = document.createElement('span')
        span.className = warn ? `${cls} ${warn}` : cls
        span.textContent = text
        return span
      }
      button.append(
        title,
        figure('cam-state', cam.state ?? '–'),
        figure('cam-fps', `${fmt.fps(cam.frames_per_s)} fps`),
        figure('cam-age', fmt.ms(age), age > 1000 ? 'bad' : age > 200 ? 'warn' : undefined),
        figure('cam-drops', `${fmt.n(drops)} dropped`, drops > 0 ? 'warn' : undefined),
      )
      return button
    }),
  )
}

/** Shows `name` (null: the unprefixed routes): closes the previous camera's streams and opens this one's. */
function selectCamera(name) {
  if (view.watch && name === view.camera) return
  stopCamera()
  view.camera = name
  view.watch = watchCamera(name)
  Object.assign(state, { frame: null, frameTimes: [], motion: null, detection: null })
  Object.assign(live, { mode: 'starting', reason: '', mimeCodec: null, latencyMs: [], captureByMediaTime: new Map() })
  live.camera = name
  $('frame-info').textContent = ''
  $('ai-lock').hidden = true
  if (name !== null) {
    linkToCamera(name)
    picker.value = name
  }
  if (view.health) showHealth(view.health)
  const cam = name !== null && view.health && view.health.cameras ? view.health.cameras[name] : undefined
  videoMsg.hidden = false
  if (cam && cam.state === 'disabled') {
    // A disabled camera has no capture and no streams: asking for them would only retry against 404s.
    videoMsg.textContent = `camera ${name} is disabled in the config`
    return
  }
  videoMsg.textContent = 'waiting for video…'
  startVideo(view.watch)
  connectEvents(view.watch)
}

function stopCamera() {
  view.watch?.abort.abort()
  view.events?.close()
  view.events = null
  // Without a src the <img> ends its MJPEG request (and heart's encoder idles when no one else watches).
  video.removeAttribute('src')
  video.hidden = true
  liveVideo.hidden = true
  const objectUrl = liveVideo.getAttribute('src')
  if (objectUrl) {
    liveVideo.removeAttribute('src')
    liveVideo.load()
    URL.revokeObjectURL(objectUrl)
  }
}

async function pollHealth() {
  try {
    const res = await fetch('/health', { cache: 'no-store' })
    // The session ended (the token changed, the cookie went): reloading shows the login form.
    if (res.status === 401) {
      location.reload()
      return
    }
    const h = await res.json()
    view.health = h
    noteCameras(h)
    // The page opened on the unprefixed routes (its first /health failed) and heart names its cameras now: take one.
    if (view.watch && view.camera === null && view.names.length > 0) selectCamera(firstCamera())
    showHealth(h)
  } catch (err) {
    const pill = $('status')
    pill.className = 'pill red'
    pill.textContent = 'no connection'
    pill.title = String(err)
  } finally {
    setTimeout(pollHealth, HEALTH_POLL_MS)
  }
}

// ---------------------------------------------------------------- start

let lastInfoAt = 0
function animate(now) {
  drawOverlay()
  if (now - lastInfoAt > 250) {
    lastInfoAt = now
    showFrameInfo()
    showLatency()
  }
  requestAnimationFrame(animate)
}

/** The camera to open: the link's, where /health knows it (or names no cameras), else the first. */
function firstCamera() {
  const asked = askedCamera()
  if (view.names.length === 0) return asked
  return asked !== null && view.names.includes(asked) ? asked : view.names[0]
}

drawScale()
measureClock()
setInterval(measureClock, 30_000)
// The first /health names the cameras, so the streams open once, on the right one.
pollHealth().then(() => selectCamera(firstCamera()))
requestAnimationFrame(animate)
