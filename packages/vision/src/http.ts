// The HTTP plumbing shared by the protocol adapters: one request with a
// deadline, errors mapped to VisionError codes, JSON bodies checked.

import { VisionError, badResponse, requestTimeout, serviceError, unreachable } from './errors.js'

/** The URL without credentials, for messages and logs. */
export function safeUrl(url: string | URL): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return '<invalid url>'
  }
}

export interface PostOptions {
  protocol: string
  url: string
  body: RequestInit['body']
  headers?: Record<string, string>
  deadlineMs: number
  /** Aborts the request early (service stopping); distinct from the deadline. */
  signal?: AbortSignal
}

/**
 * POSTs and returns the parsed JSON body of a 2xx answer. Non-2xx answers
 * become DETECTION_SERVICE with the service's own error text when it sent
 * one; the deadline covers connecting, sending and reading the whole body.
 */
export async function postJson(o: PostOptions): Promise<unknown> {
  const deadline = AbortSignal.timeout(Math.max(1, Math.round(o.deadlineMs)))
  const signal = o.signal ? AbortSignal.any([deadline, o.signal]) : deadline
  // fetch refuses URLs with credentials: send them as HTTP Basic instead.
  const target = new URL(o.url)
  const headers: Record<string, string> = { ...o.headers }
  if (target.username !== '' || target.password !== '') {
    const user = decodeURIComponent(target.username)
    const pass = decodeURIComponent(target.password)
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
    target.username = ''
    target.password = ''
  }
  let res: Response
  let text: string
  try {
    res = await fetch(target, { method: 'POST', body: o.body, headers, signal })
    text = await res.text()
  } catch (error) {
    if (deadline.aborted) throw requestTimeout(o.protocol, o.deadlineMs)
    if (o.signal?.aborted) throw new VisionError('DETECTION_ABORTED', `${o.protocol} request aborted: the client is stopping.`, { cause: error })
    throw unreachable(o.protocol, safeUrl(o.url), (error as { cause?: unknown }).cause ?? error)
  }
  const type = res.headers.get('content-type') ?? ''
  const isJson = /\bjson\b/i.test(type)
  let body: unknown
  if (isJson) {
    try {
      body = JSON.parse(text)
    } catch {
      throw badResponse(o.protocol, res.status, `the body is not valid JSON (starts ${JSON.stringify(text.slice(0, 60))})`)
    }
  }
  if (!res.ok) {
    throw serviceError(o.protocol, res.status, errorText(body) ?? (text.slice(0, 200) || res.statusText || 'no details'))
  }
  if (!isJson) throw badResponse(o.protocol, res.status, `expected application/json, got "${type || 'no content-type'}"`)
  return body
}

/** The error message a service put in its JSON body, under the names the protocols use. */
export function errorText(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const b = body as Record<string, unknown>
  for (const k of ['error', 'message', 'detail']) if (typeof b[k] === 'string' && b[k] !== '') return b[k] as string
  return undefined
}
