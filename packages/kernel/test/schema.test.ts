import t from 'tap'
import { array, boolean, closest, describeSchema, integer, number, object, oneOf, optional, string, validate } from '../src/index.js'

const schema = object({
  decoder: oneOf(['auto', 'software', 'vaapi', 'cuda', 'v4l2m2m'] as const, { default: 'auto' }),
  fps: number({ min: 1, max: 240, default: 60 }),
  depth: integer({ min: 1, max: 8, default: 2 }),
  name: string({ default: 'cam' }),
  enabled: boolean({ default: true }),
  crop: optional(object({ x: integer({ min: 0 }), y: integer({ min: 0 }) })),
  tags: array(string(), { default: [], maxItems: 2 }),
})

t.test('defaults fill an empty config', async (t) => {
  const { value, problems } = validate(schema, undefined)
  t.same(problems, [])
  t.same(value, { decoder: 'auto', fps: 60, depth: 2, name: 'cam', enabled: true, crop: undefined, tags: [] })
})

t.test('every problem names the field, what was found and what is allowed', async (t) => {
  const { problems } = validate(schema, {
    decoder: 'sofware',
    fps: 500,
    depth: 2.5,
    name: 7,
    enabled: 'yes',
    crop: { x: -1, y: 0, z: 1 },
    tags: ['a', 'b', 'c'],
    fsp: 30,
  })
  t.same(problems, [
    'fsp: unknown setting (did you mean "fps"?); known: decoder, fps, depth, name, enabled, crop, tags',
    'decoder: got "sofware", allowed: auto | software | vaapi | cuda | v4l2m2m (did you mean "software"?)',
    'fps: 500 is out of range, expected a number >= 1 and <= 240',
    'depth: got 2.5, expected an integer >= 1 and <= 8',
    'name: got 7, expected a string',
    'enabled: got "yes", expected true or false',
    'crop.z: unknown setting; known: x, y',
    'crop.x: -1 is out of range, expected an integer >= 0',
    'tags: 3 items, at most 2 allowed',
  ])
})

t.test('wrong shapes are reported, not thrown', async (t) => {
  t.same(validate(schema, []).problems, ['(top level): got a list, expected an object with decoder, fps, depth, name, enabled, crop, tags'])
  t.same(validate(schema, { tags: 'x' }).problems, ['tags: got "x", expected a list'])
  t.same(validate(object({ p: string({ pattern: /^a/, hint: 'a word starting with a' }) }), { p: 'b' }).problems, ['p: got "b", expected a word starting with a'])
  t.same(validate(schema, { tags: [1] }).problems, ['tags[0]: got 1, expected a string'])
  t.same(validate(schema, { decoder: null }).problems, ['decoder: got null, allowed: auto | software | vaapi | cuda | v4l2m2m'])
  t.match(describeSchema(schema), /an object with decoder/)
  t.equal(describeSchema(optional(integer())), 'an integer (optional)')
  t.equal(describeSchema(array(boolean())), 'a list of true or false')
})

t.test('closest suggests only near misses', async (t) => {
  t.equal(closest('thermla', ['thermal', 'camera']), 'thermal')
  t.equal(closest('zzzzzz', ['thermal', 'camera']), undefined)
})
