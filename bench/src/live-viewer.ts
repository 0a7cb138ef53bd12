// One live viewer for the benches: issue 16's default workload has the
// encoder at 15 fps "with one viewer", and the encoder works only while
// someone watches (docs/stream.md), so a bench without one would measure a
// runtime whose encoder sleeps.
import { get as httpGet } from 'node:http'

/**
 * Watches /stream.mjpeg (or another stream path: /cameras/main/live.mp4) on
 * heart's HTTP port, reading and discarding every byte, until closed;
 * `onData` sees each chunk as it arrives.
 */
export function watchLive(http: { host: string; port: number }, path = '/stream.mjpeg', onData?: (chunk: Buffer) => void): { close(): void } {
  const req = httpGet({ host: http.host, port: http.port, path, agent: false }, (res) => (onData ? res.on('data', onData) : res.resume()))
  // A viewer cut off (at stop, or by a fault's restart) is not the bench's failure.
  req.on('error', () => undefined)
  return { close: () => req.destroy() }
}
