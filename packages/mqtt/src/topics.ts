// Every topic heart uses, in one place (DESIGN.md "MQTT"): camera topics
// carry the camera's name from the start, so more cameras add topics, not
// a new scheme.

export interface MqttTopics {
  availability: string
  thermal: string
  motion(camera: string): string
  detections(camera: string): string
  health(camera: string): string
  aiLock(camera: string): string
  aiLockSet(camera: string): string
}

export function mqttTopics(prefix: string): MqttTopics {
  return {
    availability: `${prefix}/availability`,
    thermal: `${prefix}/thermal`,
    motion: (camera) => `${prefix}/${camera}/motion`,
    detections: (camera) => `${prefix}/${camera}/detections`,
    health: (camera) => `${prefix}/${camera}/health`,
    aiLock: (camera) => `${prefix}/${camera}/ai_lock`,
    aiLockSet: (camera) => `${prefix}/${camera}/ai_lock/set`,
  }
}

/** The retained payloads of PREFIX/availability and PREFIX/CAMERA/ai_lock. */
export const ONLINE = 'online'
export const OFFLINE = 'offline'
export const AI_LOCK_DOWN = 'down'
export const AI_LOCK_UP = 'up'
