// A minimal app on heart's public API: a kernel, a camera, and one consumer
// worker of the app's own, whose events the app receives on the main thread.
import { CaptureService } from '@heart/capture'
import { Kernel, type KernelEvent } from '@heart/kernel'

export interface Brightness {
  seq: number
  mean: number
  width: number
  height: number
}

export interface BrightnessApp {
  kernel: Kernel
  camera: CaptureService
  stop(): Promise<void>
}

export function startBrightnessApp(source: string, onBrightness: (b: Brightness) => void): BrightnessApp {
  const kernel = new Kernel()
  // The camera: a capture worker that decodes (or draws) frames into a ring.
  const camera = CaptureService.start(kernel.supervisor, { source }, { ring: { maxConsumers: 2, defaultDepth: 4 } })
  kernel.addRing('camera', camera.ring)
  kernel.setCameraHealth(() => camera.health())
  // Our own consumer worker, supervised like heart's: restarted if it throws.
  kernel.startConsumer({
    name: 'brightness',
    entry: new URL('./brightness-worker.js', import.meta.url),
    ring: 'camera',
    consumer: { depth: 4 },
    app: { everyFrames: 10 },
  })
  kernel.on<Brightness>('brightness', (event: KernelEvent<Brightness>) => onBrightness(event.payload))
  kernel.start()
  return {
    kernel,
    camera,
    async stop() {
      await camera.stop()
      await kernel.stop()
    },
  }
}
