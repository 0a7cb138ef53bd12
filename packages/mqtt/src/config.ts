// The `mqtt:` section (DESIGN.md "MQTT"): which broker, under which topic
// prefix, with which credentials, and how much heart keeps for it while it
// is away. One schema: `heart run` validates the file with it and
// `heart config schema` prints it. Off while `url` is absent.
import { boolean, checkedBy, integer, number, object, optional, string, z, type Infer, type Schema } from '@heart/kernel'

/** URL schemes the npm `mqtt` client connects with. */
export const BROKER_PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'] as const

/** The broker URL without its user and password (`mqtt://***@host:1883` when it had some). */
export function redactBrokerUrl(url: string): string {
  try {
    const parsed = new URL(url)
    const hadCredentials = parsed.username !== '' || parsed.password !== ''
    parsed.username = ''
    parsed.password = ''
    const bare = parsed.toString().replace(/\/$/, '')
    return hadCredentials ? bare.replace('//', '//***@') : bare
  } catch {
    return '(not a URL)'
  }
}

// The URL may hold the password, so no message here repeats what was written.
function checkBrokerUrl(url: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error('not a URL, expected mqtt://HOST[:PORT] (or mqtts://, ws://, wss://)')
  }
  if (!(BROKER_PROTOCOLS as readonly string[]).includes(parsed.protocol)) {
    // Not even the scheme is shown: in `user:password@host` it is the user name.
    throw new Error(`not a broker URL, expected ${BROKER_PROTOCOLS.map((p) => `${p}//HOST[:PORT]`).join(', ')}`)
  }
  if (parsed.hostname === '') throw new Error(`no host in ${redactBrokerUrl(url)}, expected mqtt://HOST[:PORT]`)
  try {
    decodeURIComponent(parsed.username)
    decodeURIComponent(parsed.password)
  } catch {
    throw new Error(`the user or password in ${redactBrokerUrl(url)} holds a % not followed by two hex digits; write % as %25`)
  }
}

/**
 * A string that is never shown back: YAML reads `password: 12345` as a
 * number, and the usual "got 12345" would print the secret.
 */
function secretString(): Schema<string | undefined> {
  return z.string({ error: (iss) => `got ${iss.input === null ? 'null' : typeof iss.input}, expected a string (quote a password YAML would read as a number)` }).optional() as Schema<string | undefined>
}

/** No MQTT wildcards or empty levels: the prefix starts every topic heart publishes and subscribes to. */
const TOPIC_PREFIX = /^[^#+/\s][^#+\s]*[^#+/\s]$|^[^#+/\s]$/

export const mqttConfigSchema = object({
  /** The broker, e.g. mqtt://broker:1883 (mqtts://, ws://, wss:// too); absent: MQTT is off. A user and password in it are used and never shown. */
  url: optional(checkedBy(string({ hint: 'a broker URL (mqtt://HOST[:PORT])' }), checkBrokerUrl)),
  /** First level of every topic: PREFIX/availability, PREFIX/main/motion... One prefix per box on a shared broker. */
  prefix: string({ default: 'heart', pattern: TOPIC_PREFIX, hint: 'a topic prefix without + # or leading/trailing /' }),
  /** Broker user (wins over one in the URL). */
  username: optional(string()),
  /** Broker password; HEART_MQTT_PASSWORD wins over it. Never logged. */
  password: secretString(),
  /** MQTT client id; absent: heart-PREFIX-HOSTNAME. */
  clientId: optional(string()),
  /** QoS of heart's messages (availability and the last will are always 1). */
  qos: integer({ min: 0, max: 2, default: 0 }),
  /** Publish Home Assistant discovery configs (motion, health, fps, the AI-lock switch). */
  homeAssistant: boolean({ default: false }),
  /** Where Home Assistant listens for discovery configs. */
  discoveryPrefix: string({ default: 'homeassistant', pattern: TOPIC_PREFIX, hint: 'a topic prefix' }),
  /** Health is published when its status changes and at least this often. */
  healthEveryS: number({ min: 1, max: 3600, default: 30 }),
  /** At most one PREFIX/CAMERA/motion message per camera in this many ms: the first after a quiet interval at once, the newest of the rest when it ends (so the last state always goes); 0: every event. */
  motionMinIntervalMs: integer({ min: 0, max: 60_000, default: 200 }),
  /** Thermal summaries a second at most (0: none; the sensor gives 2-16 frames a second). */
  thermalHz: number({ min: 0, max: 1, default: 1 }),
  /** Also the 32x24 temperatures in each thermal message (row-major °C, 768 numbers, ~5 KB). */
  thermalPixels: boolean({ default: false }),
  /** Messages held while the broker is away or slow; past this the oldest is dropped (counted). */
  maxQueued: integer({ min: 1, max: 1_000_000, default: 1000 }),
  /** Reconnect delays: from initialMs, doubling up to maxMs (+-20 % jitter). */
  reconnect: object({
    initialMs: integer({ min: 100, max: 600_000, default: 1000 }),
    maxMs: integer({ min: 100, max: 3_600_000, default: 30_000 }),
  }),
  /** MQTT keepalive: a broker that answers nothing for 1.5x this is taken as gone. */
  keepaliveS: integer({ min: 5, max: 3600, default: 30 }),
})

export type MqttConfig = Infer<typeof mqttConfigSchema>
