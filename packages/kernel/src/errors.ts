import { CodedError, type KernelErrorCode } from '@heart/contracts'

/** Kernel errors carry a stable `code`; messages say what happened and what to do. */
export class KernelError extends CodedError<KernelErrorCode> {}

export function configError(problems: string[], source: string): KernelError {
  const list = problems.map((p) => `  - ${p}`).join('\n')
  return new KernelError('CONFIG_INVALID', `invalid configuration (${source}):\n${list}`)
}

export function configUnreadable(file: string, cause: unknown): KernelError {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new KernelError('CONFIG_UNREADABLE', `cannot read config file ${file}: ${reason}`, { cause })
}

export function duplicateService(name: string): KernelError {
  return new KernelError('SERVICE_EXISTS', `a service named "${name}" is already running; give each worker a unique name`)
}

export function serviceNotFound(name: string): KernelError {
  return new KernelError('SERVICE_NOT_FOUND', `no service named "${name}"`)
}

export function notInWorker(): KernelError {
  return new KernelError('NOT_IN_WORKER', 'serveWorker() must run inside a worker started by the kernel supervisor')
}
