// Entry of the bench harness: `heart bench <scope> [...]` runs this file.
import { benchRing } from './ring.js'

const [scope, ...args] = process.argv.slice(2)

function flag(name: string): string | undefined {
  const i = args.indexOf(`--${name}`)
  if (i >= 0) return args[i + 1]
  return args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
}

switch (scope) {
  case 'ring':
    await benchRing({ json: flag('json'), frames: flag('frames') ? Number(flag('frames')) : undefined })
    break
  default:
    process.stderr.write(`heart bench: unknown scope "${scope ?? ''}"; use ring (decode and soak land with their issues)\n`)
    process.exitCode = 2
}
