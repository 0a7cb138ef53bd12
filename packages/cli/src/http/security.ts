// What `heart run` decides about HTTP before anything starts: the token (the
// config's or HEART_TOKEN), whether serving without one is allowed here, and
// the TLS files. Every mistake is a named usage error (exit 2) that says how
// to fix it and never prints the token.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { createSecureContext } from 'node:tls'
import { usage } from '../errors.js'
import { MIN_TOKEN_LENGTH, type HttpConfig } from './config.js'
import { isLoopback } from './host-check.js'

export interface HttpSecurity {
  /** The bearer token, or null when requests need none. */
  token: string | null
  /** PEM certificate and key for node:https, or null for plain HTTP. */
  tls: { cert: Buffer; key: Buffer } | null
  /** True when `auth: none` opens a non-loopback address to everyone (warned about at start). */
  openToNetwork: boolean
}

const HOW_TO_SET = `set a token: http.token in the config, or the HEART_TOKEN environment variable (make one with: openssl rand -hex 24); or write http.auth: none to serve everyone who can reach the port (see docs/security.md)`

function envToken(env: NodeJS.ProcessEnv): string | null {
  const value = env.HEART_TOKEN
  if (value === undefined || value === '') return null
  // The same rules as http.token; the message gives the length, never the value.
  if (value.length < MIN_TOKEN_LENGTH) throw usage(`HEART_TOKEN: a token of ${value.length} characters, expected at least ${MIN_TOKEN_LENGTH} (make one with: openssl rand -hex 24)`, 'HTTP_TOKEN_INVALID')
  if (!/^[\x21-\x7e]+$/.test(value)) throw usage('HEART_TOKEN: the token holds spaces or characters outside printable ASCII, which an Authorization header cannot carry (make one with: openssl rand -hex 24)', 'HTTP_TOKEN_INVALID')
  return value
}

function readTlsFile(what: 'cert' | 'key', file: string, configDir: string): Buffer {
  const path = resolve(configDir, file)
  try {
    return readFileSync(path)
  } catch (error) {
    throw usage(`http.tls.${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'HTTP_TLS_UNREADABLE')
  }
}

/** Decides the HTTP security settings, or throws the usage error that says what to change. */
export function resolveHttpSecurity(http: HttpConfig, env: NodeJS.ProcessEnv, configDir: string): HttpSecurity {
  // The environment wins, so a deployment can keep the secret out of the file.
  const token = envToken(env) ?? http.token ?? null
  if (http.auth === 'none' && token !== null) {
    throw usage(`http.auth is none, but a token is set (${env.HEART_TOKEN ? 'HEART_TOKEN' : 'http.token'}): remove one of them`, 'HTTP_AUTH_CONFLICT')
  }
  if (token === null && http.auth === 'token') throw usage(`http.auth is token, but no token is set: ${HOW_TO_SET}`, 'HTTP_AUTH_REQUIRED')
  if (token === null && http.auth !== 'none' && !isLoopback(http.host)) {
    throw usage(`http.host ${http.host} serves other machines, and no token is set: ${HOW_TO_SET}`, 'HTTP_AUTH_REQUIRED')
  }
  let tls: HttpSecurity['tls'] = null
  if (http.tls) {
    tls = { cert: readTlsFile('cert', http.tls.cert, configDir), key: readTlsFile('key', http.tls.key, configDir) }
    try {
      createSecureContext(tls)
    } catch (error) {
      // OpenSSL's reason ("key values mismatch", "no start line") names the problem without quoting the files.
      throw usage(`http.tls: the certificate and key cannot be used: ${error instanceof Error ? error.message : String(error)}`, 'HTTP_TLS_UNREADABLE')
    }
  }
  return { token, tls, openToNetwork: token === null && !isLoopback(http.host) }
}
