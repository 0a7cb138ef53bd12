// Starts `heart run` in-process on synthetic:// with named verifying
// consumers, for the integration tests. The caller stops it (t.teardown).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@heart/kernel'
import { runHeart, type RunningHeart } from '@heart/cli'

export interface TestHeartOptions {
  consumers: string[]
  /** The `telemetry` config section. */
  telemetry?: unknown
  size?: string
  fps?: number
}

export async function startTestHeart(options: TestHeartOptions): Promise<RunningHeart & { base: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'heart-it-'))
  const file = join(dir, 'heart.yaml')
  await writeFile(
    file,
    [
      `source: "synthetic://?size=${options.size ?? '640x360'}&fps=${options.fps ?? 60}"`,
      'http: { host: 127.0.0.1, port: 0 }',
      'consumers:',
      ...options.consumers.map((name) => `  - { name: ${name}, kind: verify, depth: 16 }`),
      '',
    ].join('\n'),
  )
  try {
    const heart = await runHeart({ configFile: file, status: false, logger: silentLogger, telemetry: options.telemetry })
    return { ...heart, base: `http://127.0.0.1:${heart.http.port}` }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(100)
  }
}
