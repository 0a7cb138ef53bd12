// The package's own version, for `heart --version`, /metrics' heart_build_info
// and the logs: read from its package.json, which sits two folders above
// this compiled file (dist/src/) in the repository and in an installed package.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

let version: string | undefined

export function heartVersion(): string {
  version ??= (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version
  return version
}
