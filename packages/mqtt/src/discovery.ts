// Home Assistant MQTT discovery: one retained config per entity under
// DISCOVERY_PREFIX/COMPONENT/NODE_ID/OBJECT_ID/config, so the camera shows up
// as a device with a motion sensor, a health and an fps sensor and the
// AI-lock as a switch, all marked unavailable when heart's last will fires.
import { AI_LOCK_DOWN, AI_LOCK_UP, OFFLINE, ONLINE, type MqttTopics } from './topics.js'

export interface DiscoveryMessage {
  topic: string
  payload: Record<string, unknown>
}

export interface DiscoveryOptions {
  discoveryPrefix: string
  /** heart's topic prefix: it names the box, so it is the node id (MQTT-safe characters only). */
  prefix: string
  camera: string
  topics: MqttTopics
  version: string
}

/** The node id Home Assistant allows: letters, digits, _ and -. */
export function discoveryNodeId(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9_-]/g, '_')
}

export function discoveryMessages(o: DiscoveryOptions): DiscoveryMessage[] {
  const node = discoveryNodeId(o.prefix)
  const id = (what: string): string => `${node}_${o.camera}_${what}`
  const common = {
    availability_topic: o.topics.availability,
    payload_available: ONLINE,
    payload_not_available: OFFLINE,
    device: {
      identifiers: [`${node}_${o.camera}`],
      name: `heart ${node} ${o.camera}`,
      manufacturer: 'heart',
      model: 'camera ingest',
      sw_version: o.version,
    },
  }
  const entity = (component: string, what: string, payload: Record<string, unknown>): DiscoveryMessage => ({
    topic: `${o.discoveryPrefix}/${component}/${node}/${o.camera}_${what}/config`,
    payload: { unique_id: id(what), object_id: id(what), ...payload, ...common },
  })
  return [
    // A motion event with boxes means moving; heart sends one empty event when motion stops.
    entity('binary_sensor', 'motion', {
      name: 'Motion',
      device_class: 'motion',
      state_topic: o.topics.motion(o.camera),
      value_template: "{{ 'ON' if value_json.boxes | length > 0 else 'OFF' }}",
      payload_on: 'ON',
      payload_off: 'OFF',
    }),
    entity('sensor', 'health', {
      name: 'Health',
      state_topic: o.topics.health(o.camera),
      value_template: '{{ value_json.status }}',
      json_attributes_topic: o.topics.health(o.camera),
      json_attributes_template: '{{ value_json.health | tojson }}',
      entity_category: 'diagnostic',
    }),
    entity('sensor', 'fps', {
      name: 'Frames per second',
      state_topic: o.topics.health(o.camera),
      value_template: '{{ value_json.health.frames_per_s }}',
      unit_of_measurement: 'fps',
      state_class: 'measurement',
      entity_category: 'diagnostic',
    }),
    // On: the camera is held down (AI-locked), as POST /camera/down.
    entity('switch', 'ai_lock', {
      name: 'AI lock',
      icon: 'mdi:robot-off',
      command_topic: o.topics.aiLockSet(o.camera),
      state_topic: o.topics.aiLock(o.camera),
      payload_on: AI_LOCK_DOWN,
      payload_off: AI_LOCK_UP,
      state_on: AI_LOCK_DOWN,
      state_off: AI_LOCK_UP,
    }),
  ]
}
