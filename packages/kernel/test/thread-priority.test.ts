import t from 'tap'
import { Worker } from 'node:worker_threads'
import { getPriority } from 'node:os'
import { currentThreadTid, setThreadNice } from '../src/thread-priority.js'

/** A worker that runs setThreadNice() for each value it is sent and answers with the result and its tid. */
function niceWorker(): { set(nice: number): Promise<{ result: { applied: number } | { skipped: string }; tid: number }>; stop(): Promise<number> } {
  const code = `
    const { parentPort } = require('node:worker_threads')
    import(${JSON.stringify(new URL('../src/thread-priority.js', import.meta.url).href)}).then((m) => {
      parentPort.on('message', (nice) => parentPort.postMessage({ result: m.setThreadNice(nice), tid: m.currentThreadTid() }))
      parentPort.postMessage('ready')
    })`
  const worker = new Worker(code, { eval: true })
  const ready = new Promise((resolve) => worker.once('message', resolve))
  return {
    async set(nice) {
      await ready
      const answer = new Promise<{ result: { applied: number } | { skipped: string }; tid: number }>((resolve) => worker.once('message', resolve))
      worker.postMessage(nice)
      return answer
    },
    stop: () => worker.terminate(),
  }
}

t.test('a worker lowers its own thread priority, not the process’s', async (t) => {
  // heart targets Linux, where every thread has its own tid and nice value.
  t.equal(currentThreadTid(), process.pid, 'the main thread’s tid is the pid')
  const mainBefore = getPriority(process.pid)
  const worker = niceWorker()
  t.teardown(() => worker.stop())
  // Above whatever nice the test runs at (`nice pnpm test` starts at 10), so it is a lowering.
  const lowered = Math.min(19, mainBefore + 7)
  const { result, tid } = await worker.set(lowered)
  t.same(result, { applied: lowered })
  t.not(tid, process.pid, 'the worker has its own thread id')
  // Seen from outside: the kernel holds the new value for that thread only.
  t.equal(getPriority(tid), lowered, 'the worker’s thread runs at the nicer value')
  t.equal(getPriority(process.pid), mainBefore, 'the main thread keeps its priority')
})

t.test('raising priority again is applied with the right, reported without it, never thrown', async (t) => {
  const worker = niceWorker()
  t.teardown(() => worker.stop())
  const start = getPriority(process.pid)
  const nicer = Math.min(19, start + 4)
  const { tid } = await worker.set(nicer)
  t.equal(getPriority(tid), nicer)
  // Going back is a raise: root (CAP_SYS_NICE) may, anyone else gets EACCES from the kernel.
  const { result } = await worker.set(start)
  if ('applied' in result) {
    t.equal(result.applied, start, 'with the privilege the raise is applied')
    t.equal(getPriority(tid), start, 'and the kernel agrees')
  } else {
    t.match(result.skipped, /EACCES|EPERM|permission/i, 'without it the reason is the kernel’s refusal')
    t.equal(getPriority(tid), nicer, 'and the thread keeps the nicer value')
  }
})

t.test('asking for the nice value a thread already has is applied, not refused', async (t) => {
  t.same(setThreadNice(getPriority(process.pid)), { applied: getPriority(process.pid) })
})
