// heart live view: plain browser JavaScript, no build step, no CDN.
//
// Data sources, all served by heart itself:
//   <img src="/stream.mjpeg">  the video (multipart/x-mixed-replace)
//   EventSource('/events')     frame metadata, motion boxes, detections, thermal frames (SSE)
//   fetch('/health') each 1 s  the health table
'use strict'

const $ = (id) => document.getElementById(id)

/** How long motion boxes and detections stay drawn without a newer event. */
const OVERLAY_TTL_MS = 1500
const HEALTH_POLL_MS = 1000
/** FrameFlags.AI_LOCKED in @heart/ring. */
const FLAG_AI_LOCKED = 1

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
const overlay = $('overlay')
const videoMsg = $('video-msg')

video.addEventListener('load', () => {
  videoMsg.hidden = true
})
video.addEventListener('error', () => {
  // The stream ended (heart restarted, network blip): show it and reconnect.
  videoMsg.hidden = false
  videoMsg.textContent = 'video lost, reconnecting…'
  setTimeout(() => {
    video.src = '/stream.mjpeg?t=' + Date.now()
  }, 1000)
})

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
  const fw = event.frameWidth || state.frame?.srcWidth || w
  const fh = event.frameHeight || state.frame?.srcHeight || h
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

function connectEvents() {
  const events = new EventSource('/events')
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
  const cam = h.camera || {}
  $('camera-state').textContent = cam.state ? `camera ${cam.state}${cam.backend ? ' · ' + cam.backend : ''}` : ''
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

  const consumers = Object.entries(h.consumers || {})
  const tbody = $('consumers-table').tBodies[0]
  tbody.replaceChildren(
    ...consumers.map(([name, c]) => {
      const tr = document.createElement('tr')
      const dropped = Object.values(c.dropped || {}).reduce((a, b) => a + b, 0)
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

async function pollHealth() {
  try {
    const res = await fetch('/health', { cache: 'no-store' })
    // The session ended (the token changed, the cookie went): reloading shows the login form.
    if (res.status === 401) {
      location.reload()
      return
    }
    showHealth(await res.json())
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
  }
  requestAnimationFrame(animate)
}

drawScale()
connectEvents()
pollHealth()
requestAnimationFrame(animate)
