// A small validator for heart's config: every problem names the field by its
// path, says what was found and what is allowed, and suggests the closest
// known key for a typo. Each package exports the schema of its own section.

export interface Schema<T> {
  /** Returns the value with defaults applied; pushes problems instead of throwing. */
  parse(value: unknown, path: string, problems: string[]): T
  describe(): string
}

export type Infer<S> = S extends Schema<infer T> ? T : never

function show(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return 'a list'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  return String(value)
}

export function number(opts: { min?: number; max?: number; integer?: boolean; default?: number } = {}): Schema<number> {
  const range = `${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` and <= ${opts.max}` : ''}`
  return {
    describe: () => range,
    parse(value, path, problems) {
      if (value === undefined && opts.default !== undefined) return opts.default
      if (typeof value !== 'number' || !Number.isFinite(value) || (opts.integer && !Number.isInteger(value))) {
        problems.push(`${path}: got ${show(value)}, expected ${range}`)
        return opts.default ?? 0
      }
      if ((opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) {
        problems.push(`${path}: ${value} is out of range, expected ${range}`)
      }
      return value
    },
  }
}

export function integer(opts: { min?: number; max?: number; default?: number } = {}): Schema<number> {
  return number({ ...opts, integer: true })
}

export function string(opts: { default?: string; pattern?: RegExp; hint?: string } = {}): Schema<string> {
  const what = opts.hint ?? 'a string'
  return {
    describe: () => what,
    parse(value, path, problems) {
      if (value === undefined && opts.default !== undefined) return opts.default
      if (typeof value !== 'string' || (opts.pattern && !opts.pattern.test(value))) {
        problems.push(`${path}: got ${show(value)}, expected ${what}`)
        return opts.default ?? ''
      }
      return value
    },
  }
}

export function boolean(opts: { default?: boolean } = {}): Schema<boolean> {
  return {
    describe: () => 'true or false',
    parse(value, path, problems) {
      if (value === undefined && opts.default !== undefined) return opts.default
      if (typeof value !== 'boolean') {
        problems.push(`${path}: got ${show(value)}, expected true or false`)
        return opts.default ?? false
      }
      return value
    },
  }
}

export function oneOf<const V extends readonly string[]>(values: V, opts: { default?: V[number] } = {}): Schema<V[number]> {
  const allowed = values.join(' | ')
  return {
    describe: () => allowed,
    parse(value, path, problems) {
      if (value === undefined && opts.default !== undefined) return opts.default
      if (typeof value !== 'string' || !values.includes(value)) {
        const near = typeof value === 'string' ? closest(value, values) : undefined
        problems.push(`${path}: got ${show(value)}, allowed: ${allowed}${near ? ` (did you mean "${near}"?)` : ''}`)
        return (opts.default ?? values[0]) as V[number]
      }
      return value as V[number]
    },
  }
}

export function optional<T>(inner: Schema<T>): Schema<T | undefined> {
  return {
    describe: () => `${inner.describe()} (optional)`,
    parse(value, path, problems) {
      return value === undefined ? undefined : inner.parse(value, path, problems)
    },
  }
}

export function array<T>(item: Schema<T>, opts: { default?: T[]; maxItems?: number } = {}): Schema<T[]> {
  return {
    describe: () => `a list of ${item.describe()}`,
    parse(value, path, problems) {
      if (value === undefined && opts.default !== undefined) return opts.default.map((v) => item.parse(v, path, problems))
      if (!Array.isArray(value)) {
        problems.push(`${path}: got ${show(value)}, expected a list`)
        return []
      }
      if (opts.maxItems !== undefined && value.length > opts.maxItems) {
        problems.push(`${path}: ${value.length} items, at most ${opts.maxItems} allowed`)
      }
      return value.map((v, i) => item.parse(v, `${path}[${i}]`, problems))
    },
  }
}

type Shape = Record<string, Schema<unknown>>
type ObjectOf<S extends Shape> = { [K in keyof S]: Infer<S[K]> }

/** An object with known keys; an unknown key is an error with a did-you-mean. */
export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape)
  return {
    describe: () => `an object with ${keys.join(', ')}`,
    parse(value, path, problems) {
      const input = value === undefined || value === null ? {} : value
      if (typeof input !== 'object' || Array.isArray(input)) {
        problems.push(`${path || '(top level)'}: got ${show(value)}, expected an object with ${keys.join(', ')}`)
        return this.parse({}, path, [])
      }
      const record = input as Record<string, unknown>
      for (const key of Object.keys(record)) {
        if (!(key in shape)) {
          const near = closest(key, keys)
          problems.push(`${path ? path + '.' : ''}${key}: unknown setting${near ? ` (did you mean "${near}"?)` : ''}; known: ${keys.join(', ')}`)
        }
      }
      const out: Record<string, unknown> = {}
      for (const key of keys) out[key] = shape[key]!.parse(record[key], path ? `${path}.${key}` : key, problems)
      return out as ObjectOf<S>
    },
  }
}

/** Validates value against schema; returns the value with defaults or the list of problems. */
export function validate<T>(schema: Schema<T>, value: unknown): { value: T; problems: string[] } {
  const problems: string[] = []
  const parsed = schema.parse(value, '', problems)
  return { value: parsed, problems }
}

/** The nearest candidate within a small edit distance, for "did you mean". */
export function closest(input: string, candidates: readonly string[]): string | undefined {
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

/**
 * An object whose keys another part validates (a package's own section,
 * checked by its own resolver). Only the shape "an object" is checked here.
 */
export function section(): Schema<Record<string, unknown>> {
  return {
    describe: () => 'an object',
    parse(value, path, problems) {
      if (value === undefined || value === null) return {}
      if (typeof value !== 'object' || Array.isArray(value)) {
        problems.push(`${path}: got ${show(value)}, expected an object`)
        return {}
      }
      return value as Record<string, unknown>
    },
  }
}
