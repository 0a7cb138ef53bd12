// Starts a real Prometheus (Debian's /usr/bin/prometheus) for tests: temp
// config and TSDB dir, loopback port, stopped by PID. Exported through
// `@heart/telemetry/testing` so the CLI's end-to-end test can reuse it.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PrometheusServerOptions {
  /** host:port targets to scrape, e.g. ["127.0.0.1:8080"]. */
  targets: string[]
  metricsPath?: string
  scrapeIntervalS?: number
  binary?: string
  /** How long to wait for /-/ready. Default 30 s. */
  startTimeoutMs?: number
  /** Scrape with this bearer token, read from a file as docs/security.md shows (`authorization.credentials_file`). */
  bearerToken?: string
}

export interface PrometheusServer {
  url: string
  pid: number
  /** Instant query; returns the `data.result` array. Throws on a non-success status. */
  query(promql: string): Promise<PrometheusSample[]>
  /** Polls query() until `accept` returns true or the timeout passes; returns the last result. */
  waitFor(promql: string, accept: (result: PrometheusSample[]) => boolean, timeoutMs?: number): Promise<PrometheusSample[]>
  /** Last lines Prometheus wrote, for failure messages. */
  logTail(): string
  stop(): Promise<void>
}

export interface PrometheusSample {
  metric: Record<string, string>
  value: [number, string]
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export async function startPrometheus(options: PrometheusServerOptions): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'heart-prometheus-'))
  const port = await freeLoopbackPort()
  const interval = options.scrapeIntervalS ?? 1
  const config = [
    'global:',
    `  scrape_interval: ${interval}s`,
    `  evaluation_interval: ${interval}s`,
    'scrape_configs:',
    '  - job_name: heart',
    `    metrics_path: ${options.metricsPath ?? '/metrics'}`,
    ...(options.bearerToken !== undefined ? ['    authorization:', '      type: Bearer', `      credentials_file: ${join(dir, 'heart-token')}`] : []),
    '    static_configs:',
    `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n')
  if (options.bearerToken !== undefined) await writeFile(join(dir, 'heart-token'), options.bearerToken, { mode: 0o600 })
  await writeFile(join(dir, 'prometheus.yml'), config)
  const child: ChildProcess = spawn(
    options.binary ?? '/usr/bin/prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let log = ''
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-8000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let exited = false
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())))
  const url = `http://127.0.0.1:${port}`

  const stop = async (): Promise<void> => {
    if (!exited && child.pid !== undefined) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exitedPromise
      clearTimeout(timer)
    }
    await rm(dir, { recursive: true, force: true })
  }

  const query = async (promql: string): Promise<PrometheusSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
    const body = (await res.json()) as { status: string; error?: string; data?: { result: PrometheusSample[] } }
    if (body.status !== 'success') throw new Error(`Prometheus rejected ${promql}: ${body.error ?? res.status}`)
    return body.data!.result
  }

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000)
  for (;;) {
    if (exited) {
      await stop()
      throw new Error(`prometheus exited during start-up:\n${log}`)
    }
    try {
      const res = await fetch(`${url}/-/ready`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`prometheus was not ready within ${options.startTimeoutMs ?? 30_000} ms:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }

  return {
    url,
    pid: child.pid!,
    query,
    async waitFor(promql, accept, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs
      let last: PrometheusSample[]
      for (;;) {
        last = await query(promql)
        if (accept(last) || Date.now() > until) return last
        await new Promise((r) => setTimeout(r, 250))
      }
    },
    logTail: () => log,
    stop,
  }
}
