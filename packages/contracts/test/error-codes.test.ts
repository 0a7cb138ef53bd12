// docs/errors.md is the one list of error codes people read; the contracts
// lists are what code types against. This keeps the two the same list.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { ERROR_CODES_BY_AREA } from '../src/index.js'

const docsUrl = new URL('../../../../docs/errors.md', import.meta.url)

function codesByAreaInDocs(markdown: string): Map<string, string[]> {
  const areas = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of markdown.split('\n')) {
    const heading = /^## (\S+)\s*$/.exec(line)
    if (heading) {
      current = []
      areas.set(heading[1]!, current)
      continue
    }
    const row = /^\| `([A-Z0-9_]+)` \|/.exec(line)
    if (row && current) current.push(row[1]!)
  }
  return areas
}

t.test('docs/errors.md lists exactly the codes of @heart/contracts, area by area', async (t) => {
  const docs = codesByAreaInDocs(readFileSync(docsUrl, 'utf8'))
  t.same([...docs.keys()].sort(), Object.keys(ERROR_CODES_BY_AREA).sort(), 'one section per area')
  for (const [area, codes] of Object.entries(ERROR_CODES_BY_AREA)) {
    t.same([...(docs.get(area) ?? [])].sort(), [...codes].sort(), `${area}: same codes`)
  }
})

t.test('every code follows the one scheme and means one thing', async (t) => {
  const all = Object.values(ERROR_CODES_BY_AREA).flat()
  for (const code of all) t.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, `${code} is UPPER_SNAKE`)
  t.equal(new Set(all).size, all.length, 'no code is raised by two areas')
  t.notOk(all.some((c) => c.startsWith('ERR_')), 'no ERR_ prefix left')
})
