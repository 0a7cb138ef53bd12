// The `mqtt:` schema: defaults, and mistakes named without repeating a
// credential (the URL and the password may hold one).
import { parseConfig } from '@heart/kernel'
import t from 'tap'
import { mqttConfigSchema, redactBrokerUrl } from '../src/config.js'

const parse = (raw: unknown): unknown => parseConfig(mqttConfigSchema, raw, 'heart.yaml')

t.test('off by default: no url, the documented defaults', async (t) => {
  t.match(parse({}), { url: undefined, prefix: 'heart', qos: 0, homeAssistant: false, discoveryPrefix: 'homeassistant', healthEveryS: 30, thermalHz: 1, thermalPixels: false, maxQueued: 1000, reconnect: { initialMs: 1000, maxMs: 30_000 }, keepaliveS: 30 })
})

t.test('a broker URL is checked without showing its credentials', async (t) => {
  t.match(parse({ url: 'mqtts://broker.local:8883' }), { url: 'mqtts://broker.local:8883' })
  for (const url of ['http://user:Hunter22pw@broker:1883', 'user:Hunter22pw@broker', 'mqtt://user:Hunter22pw@', 'mqtt://user:Hunter22pw%zz@broker']) {
    const error = (() => {
      try {
        parse({ url })
      } catch (e) {
        return e as Error & { code?: string }
      }
      return null
    })()
    t.equal(error?.code, 'CONFIG_INVALID', `${url.replace('Hunter22pw', '***')}: CONFIG_INVALID`)
    t.match(error?.message, /mqtt|url/i, 'names the field')
    t.notOk(error?.message.includes('Hunter22pw'), 'without the password')
  }
})

t.test('a password YAML read as a number is refused without showing it', async (t) => {
  t.throws(() => parse({ password: 8675309 }), { code: 'CONFIG_INVALID', message: /password.*got number, expected a string/ })
  try {
    parse({ password: 8675309 })
  } catch (e) {
    t.notOk((e as Error).message.includes('8675309'), 'the number is not in the message')
  }
})

t.test('a prefix with MQTT wildcards is refused', async (t) => {
  for (const prefix of ['heart/#', 'a+b', '/heart', 'heart/', '']) t.throws(() => parse({ prefix }), { code: 'CONFIG_INVALID' }, JSON.stringify(prefix))
  t.match(parse({ prefix: 'site-3/box_7' }), { prefix: 'site-3/box_7' })
})

t.test('redactBrokerUrl keeps host and port, never the user or password', async (t) => {
  t.equal(redactBrokerUrl('mqtt://u:p%40ss@127.0.0.1:1883'), 'mqtt://***@127.0.0.1:1883')
  t.equal(redactBrokerUrl('mqtt://127.0.0.1:1883'), 'mqtt://127.0.0.1:1883')
  t.equal(redactBrokerUrl('ws://u:p@broker/mqtt'), 'ws://***@broker/mqtt')
})

t.test('motionMinIntervalMs: 200 ms by default, 0 allowed, a mistake named with the field and what is allowed', async (t) => {
  t.match(parse({}), { motionMinIntervalMs: 200 })
  t.match(parse({ motionMinIntervalMs: 0 }), { motionMinIntervalMs: 0 })
  for (const value of [-1, 'fast', 1.5, 60_001]) {
    t.throws(() => parse({ motionMinIntervalMs: value }), { code: 'CONFIG_INVALID', message: /motionMinIntervalMs: .*expected an integer >= 0 and <= 60000/ }, JSON.stringify(value))
  }
})
