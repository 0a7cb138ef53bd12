// Test helpers: Debian's mosquitto on a free loopback port with a throwaway
// config (anonymous, or a password file made by mosquitto_passwd), and a
// second MQTT client that records what heart publishes. Tests of other
// packages (the CLI's end-to-end run, the credentials audit) use them too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect as connectTcp } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { connectAsync, type MqttClient } from 'mqtt'

export const MOSQUITTO = '/usr/sbin/mosquitto'
export const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd'

export interface MosquittoOptions {
  port: number
  /** With users: a password file, and anonymous clients refused. */
  users?: Record<string, string>
}

export interface Mosquitto {
  port: number
  /** mqtt://127.0.0.1:PORT (no credentials). */
  url: string
  /** Everything the broker logged (its log goes to stderr). */
  log(): string
  /** Stops the broker (SIGTERM, then SIGKILL); the port may be started again with start(). */
  stop(): Promise<void>
  /** Starts it again on the same port with the same config (after stop()). */
  start(): Promise<void>
  /** Freezes the broker (SIGSTOP): connections stay open but nothing is read, a broker too slow to keep up. */
  pause(): void
  /** Lets a paused broker go on (SIGCONT). */
  resume(): void
  /** stop() and removes the temp folder; for teardown (idempotent). */
  dispose(): Promise<void>
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Starts mosquitto and resolves once it accepts TCP connections. Callers must dispose() it in teardown. */
export async function startMosquitto(options: MosquittoOptions): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'heart-mosquitto-'))
  const lines = [
    `listener ${options.port} 127.0.0.1`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    // Run as root, mosquitto would switch to the `mosquitto` user, which cannot read this folder.
    `user ${userInfo().username}`,
  ]
  if (options.users) {
    const passwords = join(dir, 'passwords')
    writeFileSync(passwords, '')
    for (const [user, password] of Object.entries(options.users)) {
      const made = spawnSync(MOSQUITTO_PASSWD, ['-b', passwords, user, password], { encoding: 'utf8' })
      if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`)
    }
    lines.push('allow_anonymous false', `password_file ${passwords}`)
  } else {
    lines.push('allow_anonymous true')
  }
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, lines.join('\n') + '\n')

  let child: ChildProcess | null = null
  let log = ''
  const signal = (name: NodeJS.Signals): void => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, name)
  }
  const killOnExit = (): void => signal('SIGKILL')
  process.once('exit', killOnExit)

  const start = async (): Promise<void> => {
    const started = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
    child = started
    started.stderr!.on('data', (d: Buffer) => (log += d.toString()))
    const end = Date.now() + 10_000
    while (!(await portOpen(options.port))) {
      if (started.exitCode !== null) throw new Error(`mosquitto exited with ${started.exitCode}: ${log}`)
      if (Date.now() > end) throw new Error(`mosquitto did not listen on ${options.port} within 10 s: ${log}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const stop = async (): Promise<void> => {
    const running = child
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
    // A paused broker would not act on SIGTERM.
    process.kill(running.pid!, 'SIGCONT')
    process.kill(running.pid!, 'SIGTERM')
    const forced = setTimeout(() => killOnExit(), 3000)
    await exited
    clearTimeout(forced)
  }
  let disposed = false
  const dispose = async (): Promise<void> => {
    if (disposed) return
    disposed = true
    await stop()
    process.off('exit', killOnExit)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await start()
  } catch (error) {
    await dispose()
    throw error
  }
  return { port: options.port, url: `mqtt://127.0.0.1:${options.port}`, log: () => log, stop, start, pause: () => signal('SIGSTOP'), resume: () => signal('SIGCONT'), dispose }
}

export interface ReceivedMessage {
  topic: string
  payload: string
  retain: boolean
  /** Date.now() when it arrived. */
  at: number
}

export interface TopicWatcher {
  client: MqttClient
  messages: ReceivedMessage[]
  /** Messages on a topic, oldest first. */
  on(topic: string): ReceivedMessage[]
  /** The newest message on a topic, or undefined. */
  last(topic: string): ReceivedMessage | undefined
  /** Resolves with the first matching message that arrives from now on. */
  next(topic: string, match?: (m: ReceivedMessage) => boolean, timeoutMs?: number): Promise<ReceivedMessage>
  close(): Promise<void>
}

/** A second client subscribed to `filters` (e.g. 'heart/#'), recording every message. */
export async function watchTopics(url: string, filters: string[], auth: { username?: string; password?: string } = {}): Promise<TopicWatcher> {
  const client = await connectAsync(url, { ...auth, reconnectPeriod: 500, connectTimeout: 5000, clientId: `heart-test-watcher-${process.pid}-${Math.random().toString(36).slice(2, 8)}` })
  const messages: ReceivedMessage[] = []
  const waiters = new Set<() => void>()
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain, at: Date.now() })
    for (const wake of waiters) wake()
  })
  await client.subscribeAsync(filters, { qos: 1 })
  const on = (topic: string): ReceivedMessage[] => messages.filter((m) => m.topic === topic)
  const next = (topic: string, match: (m: ReceivedMessage) => boolean = () => true, timeoutMs = 20_000): Promise<ReceivedMessage> => {
    const from = messages.length
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = messages.slice(from).find((m) => m.topic === topic && match(m))
        if (!found) return
        waiters.delete(check)
        clearTimeout(timer)
        resolve(found)
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`no matching message on ${topic} within ${timeoutMs} ms (last: ${on(topic).at(-1)?.payload.slice(0, 300) ?? 'none'})`))
      }, timeoutMs)
      waiters.add(check)
    })
  }
  return {
    client,
    messages,
    on,
    last: (topic) => on(topic).at(-1),
    next,
    close: async () => {
      await client.endAsync(true)
    },
  }
}
