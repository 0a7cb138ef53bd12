// A small streaming parser for multipart/x-mixed-replace bodies, written for
// the tests: it trusts Content-Length (as MJPEG clients do) and checks the
// boundary line before every part, so a malformed stream fails loudly.

export interface Part {
  headers: Record<string, string>
  body: Buffer
}

export class MultipartParser {
  private buffered = Buffer.alloc(0)
  private readonly delimiter: Buffer

  constructor(boundary: string, private readonly onPart: (part: Part) => void) {
    this.delimiter = Buffer.from(`--${boundary}\r\n`)
  }

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    for (;;) {
      const headEnd = this.buffered.indexOf('\r\n\r\n')
      if (headEnd < 0) return
      if (!this.buffered.subarray(0, this.delimiter.length).equals(this.delimiter)) {
        throw new Error(`part does not start with the boundary: ${JSON.stringify(this.buffered.subarray(0, 40).toString('latin1'))}`)
      }
      const headers: Record<string, string> = {}
      for (const line of this.buffered.subarray(this.delimiter.length, headEnd).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const length = Number(headers['content-length'])
      if (!Number.isInteger(length)) throw new Error('part without Content-Length')
      const bodyStart = headEnd + 4
      if (this.buffered.length < bodyStart + length + 2) return
      const body = Buffer.from(this.buffered.subarray(bodyStart, bodyStart + length))
      if (this.buffered.subarray(bodyStart + length, bodyStart + length + 2).toString('latin1') !== '\r\n') {
        throw new Error('part body is not followed by CRLF')
      }
      this.buffered = this.buffered.subarray(bodyStart + length + 2)
      this.onPart({ headers, body })
    }
  }
}
