// heart's config validator, on zod 4: every problem names the field by its
// path, says what was found and what is allowed, and suggests the closest
// known key for a typo. Each package exports the zod schema of its own
// section; the CLI joins them into one schema, so one pass reports every
// problem of the whole file at once, and the same schema prints as JSON
// Schema for editors. The builders below are shorthands that give zod
// schemas heart's wording; a package may also write plain zod, and
// `heartIssueText` words its issues the same way.
import { z } from 'zod'

/** A zod schema whose parsed value is T. */
export type Schema<T = unknown> = z.ZodType<T>
export type Infer<S extends z.ZodType> = z.output<S>

/** Longest piece of a found value quoted in a message (a 50 MB string must not flood the terminal). */
const QUOTE_LIMIT = 80

/**
 * Text cut to `limit` characters, saying how long it was: values quoted in a
 * message (a 50 MB source string) must not flood the terminal or the log.
 */
export function clipText(text: string, limit = 200): string {
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length} characters)` : text
}

/** How a found value reads in a message. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return value.length > QUOTE_LIMIT ? `${JSON.stringify(value.slice(0, QUOTE_LIMIT))}... (${value.length} characters)` : JSON.stringify(value)
  if (Array.isArray(value)) return 'a list'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  return String(value)
}

// What each builder's schema is, in words (for describeSchema), and the form
// of an object without its default, for optional().
const descriptions = new WeakMap<z.ZodType, string>()
const withoutDefault = new WeakMap<z.ZodType, z.ZodType>()

function described<S extends z.ZodType>(schema: S, text: string): S {
  descriptions.set(schema, text)
  return schema
}

/** The builder's description of a schema ("an integer >= 1"), or "a value" for plain zod. */
export function describeSchema(schema: z.ZodType): string {
  return descriptions.get(schema) ?? 'a value'
}

type Issue = z.core.$ZodRawIssue

function rangeText(what: string, min?: number, max?: number): string {
  return `${what}${min !== undefined ? ` >= ${min}` : ''}${max !== undefined ? `${min !== undefined ? ' and' : ''} <= ${max}` : ''}`
}

export function number(opts: { min?: number; max?: number; integer?: boolean; default?: number } = {}): Schema<number> {
  const range = rangeText(opts.integer ? 'an integer' : 'a number', opts.min, opts.max)
  const wrongType = (iss: Issue): string => `got ${show(iss.input)}, expected ${range}`
  const outOfRange = (iss: Issue): string => `${show(iss.input)} is out of range, expected ${range}`
  let schema = z.number({ error: wrongType })
  if (opts.integer) schema = schema.int({ error: wrongType })
  if (opts.min !== undefined) schema = schema.min(opts.min, { error: outOfRange })
  if (opts.max !== undefined) schema = schema.max(opts.max, { error: outOfRange })
  return described(opts.default === undefined ? schema : schema.default(opts.default), range) as Schema<number>
}

export function integer(opts: { min?: number; max?: number; default?: number } = {}): Schema<number> {
  return number({ ...opts, integer: true })
}

export function string(opts: { default?: string; pattern?: RegExp; hint?: string } = {}): Schema<string> {
  const what = opts.hint ?? 'a string'
  const wrong = (iss: Issue): string => `got ${show(iss.input)}, expected ${what}`
  let schema = z.string({ error: wrong })
  if (opts.pattern) schema = schema.regex(opts.pattern, { error: wrong })
  return described(opts.default === undefined ? schema : schema.default(opts.default), what) as Schema<string>
}

export function boolean(opts: { default?: boolean } = {}): Schema<boolean> {
  const schema = z.boolean({ error: (iss) => `got ${show(iss.input)}, expected true or false` })
  return described(opts.default === undefined ? schema : schema.default(opts.default), 'true or false') as Schema<boolean>
}

/** One of a fixed set of words; a near miss gets a did-you-mean. */
export function oneOf<const V extends readonly [string, ...string[]]>(values: V, opts: { default?: V[number] } = {}): Schema<V[number]> {
  const allowed = values.join(' | ')
  const schema = z.enum(values as unknown as [V[number], ...V[number][]], {
    error: (iss) => {
      const near = typeof iss.input === 'string' ? closest(iss.input, values) : undefined
      return `got ${show(iss.input)}, allowed: ${allowed}${near ? ` (did you mean "${near}"?)` : ''}`
    },
  })
  return described(opts.default === undefined ? schema : schema.default(opts.default as never), allowed) as unknown as Schema<V[number]>
}

/** Absent stays absent (an object builder's default is not applied). */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> {
  const base = withoutDefault.get(inner) ?? inner
  return described(base.optional(), `${describeSchema(inner)} (optional)`) as Schema<T | undefined>
}

export function array<T>(item: Schema<T>, opts: { default?: T[]; maxItems?: number } = {}): Schema<T[]> {
  let schema = z.array(item, { error: (iss) => `got ${show(iss.input)}, expected a list` })
  if (opts.maxItems !== undefined) {
    const max = opts.maxItems
    schema = schema.max(max, { error: (iss) => `${Array.isArray(iss.input) ? iss.input.length : '?'} items, at most ${max} allowed` })
  }
  return described(opts.default === undefined ? schema : schema.prefault(opts.default), `a list of ${describeSchema(item)}`) as Schema<T[]>
}

type Shape = Record<string, z.ZodType>

/** null (YAML's empty value, `loop:`) reads as "nothing given": every default applies. */
const nullIsNothing = (value: unknown): unknown => (value === null ? undefined : value)

/**
 * An object with known keys and a default for each; an unknown key is an
 * error with a did-you-mean. Absent (or null), it is `{}` with defaults.
 */
export function object<S extends Shape>(shape: S): Schema<z.output<z.ZodObject<S, z.core.$strict>>> {
  const keys = Object.keys(shape)
  const strict = z.strictObject(shape, {
    error: (iss) => (iss.code === 'invalid_type' ? `got ${show(iss.input)}, expected an object with ${keys.join(', ')}` : undefined),
  })
  const text = `an object with ${keys.join(', ')}`
  // Every known key is present in the result (undefined when optional and absent), as readers destructure them.
  const complete = strict.transform((value) => {
    for (const key of keys) if (!(key in value)) (value as Record<string, unknown>)[key] = undefined
    return value
  })
  const schema = described(z.preprocess(nullIsNothing, complete.prefault({} as never)), text)
  withoutDefault.set(schema, described(complete, text))
  return schema as unknown as Schema<z.output<z.ZodObject<S, z.core.$strict>>>
}

/**
 * An object of any keys (a free-form map). Kept for callers that validate a
 * part themselves; heart's own sections all have schemas.
 */
export function section(): Schema<Record<string, unknown>> {
  const schema = z.record(z.string(), z.unknown(), { error: (iss) => `got ${show(iss.input)}, expected an object` })
  return described(z.preprocess(nullIsNothing, schema.prefault({})), 'an object') as unknown as Schema<Record<string, unknown>>
}

/**
 * A schema whose value a package's own code checks as well (a constructor
 * that validates its options): what that code throws becomes a problem at
 * this path, reported with the others, so each value is checked in one place.
 */
export function checkedBy<T>(schema: Schema<T>, check: (value: T) => void, tidy: (message: string) => string = (m) => m): Schema<T> {
  return described(
    schema.superRefine((value, ctx) => {
      try {
        check(value)
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: tidy(error instanceof Error ? error.message : String(error)) })
      }
    }),
    describeSchema(schema),
  ) as Schema<T>
}

const TYPE_WORDS: Record<string, string> = {
  object: 'an object',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  bigint: 'an integer',
  undefined: 'nothing',
  null: 'null',
}

/**
 * heart's wording of a zod issue that its schema did not word itself (plain
 * zod in a package's schema). Unknown keys come back one line per key,
 * "KEY: unknown setting...", which formatIssues puts under the object's path.
 */
export function heartIssueText(iss: Issue): string | undefined {
  const input = iss.input
  switch (iss.code) {
    case 'unrecognized_keys': {
      const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape
      const known = shape ? Object.keys(shape) : []
      return iss.keys
        .map((key) => {
          const near = closest(key, known)
          return `${key}: unknown setting${near ? ` (did you mean "${near}"?)` : ''}${known.length ? `; known: ${known.join(', ')}` : ''}`
        })
        .join('\n')
    }
    case 'invalid_type':
      return `got ${show(input)}, expected ${TYPE_WORDS[iss.expected] ?? iss.expected}`
    case 'too_small':
    case 'too_big': {
      const bound = iss.code === 'too_small' ? iss.minimum : iss.maximum
      const op = iss.code === 'too_small' ? (iss.inclusive === false ? '>' : '>=') : iss.inclusive === false ? '<' : '<='
      if (iss.origin === 'array' || iss.origin === 'set') return `${Array.isArray(input) ? input.length : '?'} items, ${iss.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} allowed`
      if (iss.origin === 'string') return `got a string of ${typeof input === 'string' ? input.length : '?'} characters, expected ${iss.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)}`
      return `${show(input)} is out of range, expected a number ${op} ${String(bound)}`
    }
    case 'invalid_value': {
      const words = iss.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
      const near = typeof input === 'string' ? closest(input, words) : undefined
      return `got ${show(input)}, allowed: ${words.join(' | ')}${near ? ` (did you mean "${near}"?)` : ''}`
    }
    case 'invalid_format':
      return `got ${show(input)}, expected ${iss.format === 'regex' ? 'a string of the documented form' : `a ${iss.format}`}`
    case 'not_multiple_of':
      return `got ${show(input)}, expected a multiple of ${String(iss.divisor)}`
    case 'invalid_union':
      return `got ${show(input)}, which matches none of the allowed forms`
    case 'invalid_key':
      return `a key here is not allowed`
    case 'invalid_element':
      return `an element here is not allowed`
    default:
      return undefined
  }
}

function pathText(path: readonly PropertyKey[]): string {
  let text = ''
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text ? `.${String(part)}` : String(part)
  return text
}

function startsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => path[i] === p)
}

/**
 * The issues as heart's problem lines: `PATH: message`. An object's unknown
 * keys are listed before the problems inside it (a misspelt key usually
 * explains the "missing" one after it).
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const ordered: z.core.$ZodIssue[] = []
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') {
      ordered.push(issue)
      continue
    }
    const at = ordered.findIndex((o) => startsWith(o.path, issue.path))
    if (at < 0) ordered.push(issue)
    else ordered.splice(at, 0, issue)
  }
  const lines: string[] = []
  for (const issue of ordered) {
    const where = pathText(issue.path)
    if (issue.code === 'unrecognized_keys') {
      for (const line of issue.message.split('\n')) lines.push(where ? `${where}.${line}` : line)
    } else {
      lines.push(`${where || '(top level)'}: ${issue.message}`)
    }
  }
  return lines
}

/** Validates value against schema; returns the value with defaults, or the list of problems. */
export function validate<T>(schema: Schema<T>, value: unknown): { value: T; problems: string[] } {
  const result = schema.safeParse(value, { reportInput: true, error: heartIssueText })
  if (result.success) return { value: result.data, problems: [] }
  return { value: undefined as T, problems: formatIssues(result.error.issues) }
}

/** The JSON Schema of a config schema, as an editor reads heart.yaml (what may be written, with defaults). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
}

/** The nearest candidate within a small edit distance, for "did you mean". */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  // No key is this long: a huge value is not a typo, and the distance table would be huge too.
  if (input.length > 64) return undefined
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = editDistance(input.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) {
      bestDistance = d
      best = c
    }
  }
  const limit = Math.max(1, Math.floor(input.length / 3))
  return bestDistance <= limit && bestDistance < input.length ? best : undefined
}

/** Edit distance where swapping two neighbours counts as one edit (typos like "fsp"). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}
