// sdNotify() against a real unix datagram listener (Python's socket module,
// no extra packages): what systemd's service manager does with NOTIFY_SOCKET.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { sdNotify, watchdogUsec } from '@heart/native'
import { tempDir } from './media.js'

// Binds a SOCK_DGRAM socket at argv[1] ('@name': the abstract namespace),
// says 'ready', then prints every datagram it gets as one JSON line.
const LISTENER = `
import json, socket, sys
address = sys.argv[1]
listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
listener.bind('\\0' + address[1:] if address.startswith('@') else address)
print('ready', flush=True)
while True:
    print(json.dumps(listener.recv(65536).decode()), flush=True)
`

interface Listener {
  next(): Promise<string>
}

async function listen(t: Test, address: string): Promise<Listener> {
  const child = spawn('/usr/bin/python3', ['-c', LISTENER, address], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => child.kill())
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const nextLine = async (): Promise<string> => {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no datagram within 5 s')), 5000).unref())
    const line = await Promise.race([lines.next(), timeout])
    if (line.done) throw new Error('the listener exited')
    return line.value
  }
  t.equal(await nextLine(), 'ready')
  return { next: async () => JSON.parse(await nextLine()) as string }
}

function withEnv(name: string, value: string | undefined, f: () => void): void {
  const previous = process.env[name]
  if (value === undefined) delete process.env[name]
  else process.env[name] = value
  try {
    f()
  } finally {
    if (previous === undefined) delete process.env[name]
    else process.env[name] = previous
  }
}

t.test('READY=1 reaches a listener on a socket path', async (t) => {
  const path = join(tempDir(t), 'notify.sock')
  const listener = await listen(t, path)
  withEnv('NOTIFY_SOCKET', path, () => t.equal(sdNotify('READY=1'), true))
  t.equal(await listener.next(), 'READY=1')
  withEnv('NOTIFY_SOCKET', path, () => t.equal(sdNotify('WATCHDOG=1\nSTATUS=2 cameras streaming'), true))
  t.equal(await listener.next(), 'WATCHDOG=1\nSTATUS=2 cameras streaming', 'several assignments travel as one datagram')
})

t.test('an address starting with @ is in the abstract namespace', async (t) => {
  const name = `@heart-notify-test-${process.pid}-${Math.random().toString(36).slice(2)}`
  const listener = await listen(t, name)
  withEnv('NOTIFY_SOCKET', name, () => t.equal(sdNotify('STOPPING=1'), true))
  t.equal(await listener.next(), 'STOPPING=1')
})

t.test('no NOTIFY_SOCKET: nothing is sent and the answer is false', async (t) => {
  withEnv('NOTIFY_SOCKET', undefined, () => t.equal(sdNotify('READY=1'), false))
  withEnv('NOTIFY_SOCKET', '', () => t.equal(sdNotify('READY=1'), false))
})

t.test('a failed send throws a coded error naming the socket', async (t) => {
  const missing = join(tempDir(t), 'nobody-listens.sock')
  withEnv('NOTIFY_SOCKET', missing, () => t.throws(() => sdNotify('READY=1'), { code: 'IO_ERROR', message: /nobody-listens\.sock/ }))
  withEnv('NOTIFY_SOCKET', 'relative/notify.sock', () =>
    t.throws(() => sdNotify('READY=1'), { code: 'INVALID_ARGUMENT', message: /NOTIFY_SOCKET/ }),
  )
})

t.test('watchdogUsec reads WATCHDOG_USEC, for this process only', async (t) => {
  withEnv('WATCHDOG_PID', undefined, () => {
    withEnv('WATCHDOG_USEC', undefined, () => t.equal(watchdogUsec(), null))
    withEnv('WATCHDOG_USEC', '3000000', () => t.equal(watchdogUsec(), 3_000_000))
    withEnv('WATCHDOG_USEC', 'soon', () => t.throws(() => watchdogUsec(), { code: 'INVALID_ARGUMENT', message: /WATCHDOG_USEC/ }))
  })
  withEnv('WATCHDOG_USEC', '3000000', () => {
    withEnv('WATCHDOG_PID', String(process.pid), () => t.equal(watchdogUsec(), 3_000_000, 'meant for this process'))
    withEnv('WATCHDOG_PID', String(process.pid + 1), () => t.equal(watchdogUsec(), null, 'meant for another process'))
  })
})
