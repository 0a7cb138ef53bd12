import t from 'tap'
import { Worker } from 'node:worker_threads'
import { getPriority } from 'node:os'
import { currentThreadTid, setThreadNice } from '../src/thread-priority.js'

t.test('a worker lowers its own thread priority, not the process’s', async (t) => {
  // heart targets Linux, where every thread has its own tid and nice value.
  t.equal(currentThreadTid(), process.pid, 'the main thread’s tid is the pid')
  const code = `
    const { parentPort } = require('node:worker_threads')
    import(${JSON.stringify(new URL('../src/thread-priority.js', import.meta.url).href)}).then((m) => {
      const result = m.setThreadNice(7)
      parentPort.postMessage({ result, tid: m.currentThreadTid() })
    })`
  const worker = new Worker(code, { eval: true })
  const { result, tid: workerTid } = await new Promise<{ result: { applied?: number }; tid: number }>((resolve) => worker.once('message', resolve))
  await worker.terminate()
  t.same(result, { applied: 7 })
  t.not(workerTid, process.pid)
  t.equal(getPriority(process.pid), 0, 'the main thread keeps its priority')
})

t.test('raising priority without the right is reported, not thrown', async (t) => {
  const result = setThreadNice(getPriority(process.pid))
  t.ok('applied' in result || 'skipped' in result)
})
