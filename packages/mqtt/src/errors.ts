// What went wrong with the broker, as a named code (docs/errors.md "mqtt")
// and a sentence. These are not thrown: the bridge keeps going and shows the
// last one in /health (mqtt.last_error) and the log.
import type { MqttErrorCode } from '@heart/contracts'

export interface MqttFailure {
  code: MqttErrorCode
  message: string
}

// CONNACK return codes (MQTT 3.1.1: 4, 5) and reason codes (MQTT 5: 134, 135) that mean "not these credentials".
const AUTH_REFUSALS = new Set([4, 5, 134, 135])

/** Names an error of the `mqtt` client: a CONNACK refusal carries a numeric code, a socket error a string one. */
export function classifyMqttError(error: Error & { code?: unknown }, connectedBefore: boolean): MqttFailure {
  if (typeof error.code === 'number') {
    if (AUTH_REFUSALS.has(error.code)) {
      return { code: 'MQTT_AUTH_REFUSED', message: `the broker refused heart's user name and password (${error.message}); check mqtt.username and mqtt.password or HEART_MQTT_PASSWORD` }
    }
    return { code: 'MQTT_REFUSED', message: `the broker refused the connection (${error.message})` }
  }
  if (typeof error.code === 'string' && !connectedBefore) {
    return { code: 'MQTT_UNREACHABLE', message: `cannot reach the broker (${error.message}); check it runs and mqtt.url` }
  }
  return { code: connectedBefore ? 'MQTT_CONNECTION_LOST' : 'MQTT_UNREACHABLE', message: error.message }
}
