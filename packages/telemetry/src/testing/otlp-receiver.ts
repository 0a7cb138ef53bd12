// A minimal OTLP/HTTP receiver for tests (node:http): accepts /v1/traces and
// /v1/metrics in the OTLP/JSON encoding (what the opentelemetry-js http
// exporters send) and keeps the decoded payloads. Per the OTLP/JSON spec,
// trace and span ids are hex strings and 64-bit integers may be strings.

import { createServer, type Server } from 'node:http'

export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  kind: number
  startTimeUnixNano: bigint
  endTimeUnixNano: bigint
  attributes: Record<string, unknown>
  resource: Record<string, unknown>
}

export interface OtlpReceiver {
  url: string
  spans: ReceivedSpan[]
  /** Raw decoded /v1/metrics bodies, in arrival order. */
  metrics: OtlpJson[]
  requests: number
  close(): Promise<void>
}

export type OtlpJson = Record<string, unknown>

interface AnyValue {
  stringValue?: string
  intValue?: string | number
  doubleValue?: number
  boolValue?: boolean
  arrayValue?: { values?: AnyValue[] }
}

export function decodeAnyValue(v: AnyValue | undefined): unknown {
  if (v === undefined) return undefined
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodeAnyValue)
  return undefined
}

export function decodeAttributes(list: { key: string; value: AnyValue }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const kv of list ?? []) out[kv.key] = decodeAnyValue(kv.value)
  return out
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = { url: '', spans: [], metrics: [], requests: 0, close: async () => undefined }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      receiver.requests++
      if (!String(req.headers['content-type']).includes('json')) {
        res.writeHead(415, { 'content-type': 'application/json' }).end('{"message":"this test receiver only decodes OTLP/JSON"}')
        return
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson
      if (req.url === '/v1/traces') collectSpans(body, receiver.spans)
      else if (req.url === '/v1/metrics') receiver.metrics.push(body)
      else {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  receiver.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  return receiver
}

function collectSpans(body: OtlpJson, into: ReceivedSpan[]): void {
  type JsonSpan = {
    traceId: string
    spanId: string
    parentSpanId?: string
    name: string
    kind: number
    startTimeUnixNano: string | number
    endTimeUnixNano: string | number
    attributes?: { key: string; value: AnyValue }[]
  }
  const resourceSpans = (body['resourceSpans'] ?? []) as {
    resource?: { attributes?: { key: string; value: AnyValue }[] }
    scopeSpans?: { spans?: JsonSpan[] }[]
  }[]
  for (const rs of resourceSpans) {
    const resource = decodeAttributes(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        into.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: BigInt(s.startTimeUnixNano),
          endTimeUnixNano: BigInt(s.endTimeUnixNano),
          attributes: decodeAttributes(s.attributes),
          resource,
        })
      }
    }
  }
}
