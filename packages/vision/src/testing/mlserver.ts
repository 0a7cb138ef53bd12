// Test helpers: Seldon's MLServer (installed from PyPI by scripts/setup.sh
// into .venv-mlserver at the repository root) serving the "brightest" model of
// packages/vision/test/fixtures/mlserver on free loopback ports, so the Open
// Inference Protocol client is checked against a real implementation. The
// CLI's end-to-end run uses them too.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freeLoopbackPort } from '@heart/telemetry/testing'

/** The model repository with the brightest-region detector (settings.json + brightest/). */
export const BRIGHTEST_MODELS = fileURLToPath(new URL('../../../test/fixtures/mlserver', import.meta.url))

/** The name the brightest-region model is served under (its model-settings.json). */
export const BRIGHTEST_MODEL = 'brightest'

/** The mlserver command: $HEART_MLSERVER, else .venv-mlserver/bin/mlserver in the repository that holds this file. */
export function mlserverCommand(): string {
  const chosen = process.env.HEART_MLSERVER
  if (chosen) return chosen
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) {
      const bin = join(dir, '.venv-mlserver', 'bin', 'mlserver')
      if (existsSync(bin)) return bin
      throw new Error(`MLServer is not installed at ${bin}: run bash scripts/setup.sh (or set HEART_MLSERVER to an mlserver command)`)
    }
  }
  throw new Error('MLServer: no pnpm-workspace.yaml above this file; set HEART_MLSERVER to an mlserver command')
}

export interface MlServerOptions {
  /** The model repository to serve. Default BRIGHTEST_MODELS. */
  models?: string
  /** How long to wait for /v2/health/ready. Default 90 s (MLServer imports a lot on a loaded machine). */
  readyTimeoutMs?: number
}

export interface MlServer {
  /** http://127.0.0.1:PORT, the REST (Open Inference Protocol v2) endpoint. */
  url: string
  httpPort: number
  grpcPort: number
  /** Everything MLServer printed. */
  log(): string
  /** SIGTERM to its process group, SIGKILL after 5 s; removes its scratch folder. Idempotent, for teardown. */
  stop(): Promise<void>
}

/** Starts MLServer and resolves once /v2/health/ready answers 200 (every model loaded). Callers must stop() it in teardown. */
export async function startMlServer(options: MlServerOptions = {}): Promise<MlServer> {
  const command = mlserverCommand()
  const [httpPort, grpcPort, metricsPort] = [await freeLoopbackPort(), await freeLoopbackPort(), await freeLoopbackPort()]
  // MLServer writes .metrics/ and .envs/ under its working directory: keep them out of the repository.
  const scratch = mkdtempSync(join(tmpdir(), 'heart-mlserver-'))
  const child = spawn(command, ['start', options.models ?? BRIGHTEST_MODELS], {
    cwd: scratch,
    // Its own process group, so stop() also ends anything it started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MLSERVER_HOST: '127.0.0.1',
      MLSERVER_HTTP_PORT: String(httpPort),
      // gRPC cannot be switched off in MLServer 1.7: give it a free port too.
      MLSERVER_GRPC_PORT: String(grpcPort),
      MLSERVER_METRICS_PORT: String(metricsPort),
      MLSERVER_METRICS_DIR: join(scratch, 'metrics'),
      // No __pycache__ beside the fixture's model.py.
      PYTHONDONTWRITEBYTECODE: '1',
    },
  })
  let log = ''
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  const signal = (name: NodeJS.Signals): void => {
    if (child.pid === undefined || !running()) return
    try {
      process.kill(-child.pid, name)
    } catch {
      // Already gone.
    }
  }
  const killOnExit = signal.bind(null, 'SIGKILL')
  process.once('exit', killOnExit)
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    signal('SIGTERM')
    const forced = setTimeout(signal, 5000, 'SIGKILL')
    if (child.pid !== undefined) await exited
    clearTimeout(forced)
    process.off('exit', killOnExit)
    rmSync(scratch, { recursive: true, force: true })
  }
  const url = `http://127.0.0.1:${httpPort}`
  try {
    const end = Date.now() + (options.readyTimeoutMs ?? 90_000)
    for (;;) {
      if (!running()) throw new Error(`MLServer exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log}`)
      const ready = await fetch(`${url}/v2/health/ready`).then((r) => r.status === 200, () => false)
      if (ready) break
      if (Date.now() > end) throw new Error(`MLServer was not ready on ${url} within ${options.readyTimeoutMs ?? 90_000} ms:\n${log}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { url, httpPort, grpcPort, log: () => log, stop }
}
