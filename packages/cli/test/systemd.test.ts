// heart under systemd: the unit file systemd itself accepts, and the notify
// protocol on a real unix datagram socket (a Python listener, as systemd's
// is one), including a main thread stalled on purpose, which must stop the
// watchdog pings.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { silentLogger } from '@heart/kernel'
import { waitFor } from '@heart/telemetry/testing'
import { defaultConfigFile } from '../src/config.js'
import { runHeart } from '../src/run.js'
import { watchdogPeriodMs } from '../src/systemd.js'

const UNIT = fileURLToPath(new URL('../../../../deploy/systemd/heart.service', import.meta.url))
const BIN = fileURLToPath(new URL('../src/bin.js', import.meta.url))

t.test('the unit file passes systemd-analyze verify with no complaint', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heart-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // verify checks that ExecStart's program exists: point it at this checkout's heart.
  const unit = readFileSync(UNIT, 'utf8').replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath} ${BIN}`)
  writeFileSync(join(dir, 'heart.service'), unit)
  t.equal(spawnSyncText('systemd-analyze', ['verify', '--man=no', join(dir, 'heart.service')]), '')
  // And it is not a check that cannot fail: a typo is reported.
  writeFileSync(join(dir, 'heart.service'), unit.replace('Type=notify', 'Type=notfy'))
  const bad = spawnSyncText('systemd-analyze', ['verify', '--man=no', join(dir, 'heart.service')])
  t.match(bad, /Failed to parse service type/)
  t.match(unit, /^Type=notify$/m)
  t.match(unit, /^WatchdogSec=\d+s$/m)
  t.end()
})

/** Everything a command printed, stdout and stderr (systemd-analyze warns on stderr and still exits 0). */
function spawnSyncText(cmd: string, args: string[]): string {
  const ran = spawnSync(cmd, args, { encoding: 'utf8' })
  return `${ran.stdout}${ran.stderr}`
}

t.test('the watchdog period is half of WATCHDOG_USEC, and only for the process it names', (t) => {
  t.equal(watchdogPeriodMs({ WATCHDOG_USEC: '10000000' }), 5000)
  t.equal(watchdogPeriodMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: String(process.pid) }), 5000)
  t.equal(watchdogPeriodMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '1' }), null, 'meant for another process')
  t.equal(watchdogPeriodMs({}), null)
  t.equal(watchdogPeriodMs({ WATCHDOG_USEC: 'soon' }), null)
  t.end()
})

t.test('the config file: --config, else $HEART_CONFIG, else /etc/heart/heart.yaml when it exists', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heart-etc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const system = join(dir, 'heart.yaml')
  t.equal(defaultConfigFile({ HEART_CONFIG: '/x/y.yaml' }, system), '/x/y.yaml')
  t.equal(defaultConfigFile({}, system), undefined, 'no system file: the built-in defaults')
  writeFileSync(system, 'source: "synthetic://"\n')
  t.equal(defaultConfigFile({}, system), system)
  t.end()
})

/** A unix datagram listener, as systemd's notify socket is; prints each datagram with its arrival time. */
const LISTENER = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data = s.recv(4096)
    print("%.3f %s" % (time.monotonic(), data.decode().replace("\\n", "|")), flush=True)
`

t.test('READY=1, STATUS and WATCHDOG=1 reach the notify socket; a stalled main thread stops the pings; STOPPING=1 at the end', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heart-notify-'))
  const socket = join(dir, 'notify')
  const listener = spawn('python3', ['-c', LISTENER, socket], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => {
    listener.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  const lines: { at: number; text: string }[] = []
  let ready = false
  listener.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      if (line === 'listening') ready = true
      else {
        const [at, ...rest] = line.split(' ')
        lines.push({ at: Number(at), text: rest.join(' ') })
      }
    }
  })
  await waitFor(() => ready, 'the listener')
  const config = join(dir, 'heart.yaml')
  writeFileSync(config, 'source: "synthetic://?size=64x48&fps=30"\nhttp: { port: 0 }\nthermal: { enabled: false }\nconsumers: []\n')
  // The crate reads the process's own environment, as it would under systemd.
  process.env.NOTIFY_SOCKET = socket
  process.env.WATCHDOG_USEC = '400000'
  t.teardown(() => {
    delete process.env.NOTIFY_SOCKET
    delete process.env.WATCHDOG_USEC
  })
  const heart = await runHeart({ configFile: config, status: false, logger: silentLogger })
  let stopped = false
  t.teardown(() => (stopped ? undefined : heart.stop()))
  await waitFor(() => lines.some((l) => l.text.startsWith('READY=1')), 'READY=1', () => lines)
  t.match(lines.find((l) => l.text.startsWith('READY=1'))!.text, /READY=1\|STATUS=.+\|MAINPID=\d+/, 'READY with a status and the main pid')
  await waitFor(() => lines.filter((l) => l.text === 'WATCHDOG=1').length >= 4, 'watchdog pings', () => lines)
  // Wedge the main thread for 1.2 s (3 watchdog periods): nothing may ping meanwhile.
  const before = lines.filter((l) => l.text === 'WATCHDOG=1').length
  const wedgeStart = performance.now()
  while (performance.now() - wedgeStart < 1200) {
    // busy: the tick loop cannot run
  }
  await new Promise((r) => setTimeout(r, 50))
  const pings = lines.filter((l) => l.text === 'WATCHDOG=1').map((l) => l.at)
  const gaps = pings.slice(1).map((at, i) => at - pings[i]!)
  t.ok(Math.max(...gaps) >= 1.1, `the longest gap between pings covers the stall (${Math.max(...gaps).toFixed(2)} s)`)
  t.ok(pings.length <= before + 2, 'no pings were sent while the main thread was stalled (at most the ones queued around it)')
  await waitFor(() => lines.filter((l) => l.text === 'WATCHDOG=1').length >= before + 3, 'pings after the stall')
  // A reload (what SIGHUP does): RELOADING=1 with the monotonic time, then READY=1 once the cameras are restarted.
  writeFileSync(config, 'source: "synthetic://?size=64x48&fps=15"\nhttp: { port: 0 }\nthermal: { enabled: false }\nconsumers: []\n')
  const readyBefore = lines.filter((l) => l.text.startsWith('READY=1')).length
  t.same((await heart.reload()).restarted, ['main'], 'the changed camera was restarted')
  await waitFor(() => lines.filter((l) => l.text.startsWith('READY=1')).length > readyBefore, 'READY=1 after the reload', () => lines)
  const reloading = lines.findIndex((l) => l.text.startsWith('RELOADING=1'))
  t.match(lines[reloading]?.text, /RELOADING=1\|STATUS=reloading the config\|MONOTONIC_USEC=\d+/, 'RELOADING with the reload\'s start')
  t.ok(reloading < lines.findLastIndex((l) => l.text.startsWith('READY=1')), 'then READY again')
  await heart.stop()
  stopped = true
  await waitFor(() => lines.some((l) => l.text.startsWith('STOPPING=1')), 'STOPPING=1', () => lines)
  const gapsWhileHealthy = gaps.filter((g) => g < 1)
  t.ok(gapsWhileHealthy.every((g) => g < 0.35), 'pings come every half watchdog period (200 ms) while healthy')
})
