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
  case 'telemetry': await (await import('./telemetry.js')).benchTelemetry({ json: flag('json'), seconds: flag('seconds') ? Number(flag('seconds')) : undefined, runs: flag('runs') ? Number(flag('runs')) : undefined, consumers: flag('consumers') ? Number(flag('consumers')) : undefined, source: flag('source') }); break
  case 'soak': {
    const { runSoak } = await import('./soak.js')
    const faults = flag('faults')
    const result = await runSoak({
      durationS: flag('duration') ? Number(flag('duration')) : 600,
      source: flag('source'),
      json: flag('json'),
      html: flag('html'),
      warmupS: flag('warmup') ? Number(flag('warmup')) : undefined,
      faults: faults === undefined ? undefined : faults === 'none' ? [] : (faults.split(',') as never),
    })
    process.exitCode = result.pass ? 0 : 1
    break
  }
  case 'backpressure': {
    const { benchBackpressure } = await import('./backpressure.js')
    const pass = await benchBackpressure({
      seconds: flag('seconds') ? Number(flag('seconds')) : 60,
      verifiers: flag('consumers') ? Number(flag('consumers')) : undefined,
      verifierDepth: flag('depth') ? Number(flag('depth')) : undefined,
      size: flag('size'),
      json: flag('json'),
    })
    process.exitCode = pass ? 0 : 1
    break
  }
  case 'decode':
    await (await import('./decode.js')).benchDecode({ json: flag('json'), seconds: flag('seconds') ? Number(flag('seconds')) : undefined, runs: flag('runs') ? Number(flag('runs')) : undefined, codecs: flag('codecs') ? (flag('codecs')!.split(',') as never) : undefined })
    break
  case 'budget':
    process.exitCode = await (await import('./budget-cli.js')).budgetMain(args)
    break
  default:
    process.stderr.write(`heart bench: unknown scope "${scope ?? ''}"; use ring, decode, telemetry, soak, backpressure or budget\n`)
    process.exitCode = 2
}
