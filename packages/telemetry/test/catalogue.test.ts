import t from 'tap'
import { joinCatalogues } from '../src/catalogue.js'
import { MetricsRegistry } from '../src/registry.js'
import type { Catalogue, MetricDeclaration } from '../src/types.js'

const latency = (stages: string[]): MetricDeclaration => ({
  name: 'app.latency',
  kind: 'histogram',
  unit: 'ms',
  description: 'Latency by stage.',
  attributes: { stage: stages },
  histogram: { lowest: 0.01, highest: 1000 },
})

t.test('parts join into one catalogue; a metric both parts record unites its attribute values', async (t) => {
  const source: Catalogue = [{ name: 'app.frames', kind: 'counter', unit: '{frame}', description: 'Frames.' }, latency(['receive', 'decode'])]
  const sink: Catalogue = [latency(['decode', 'consume']), { name: 'app.lag', kind: 'gauge', unit: '{frame}', description: 'Lag.' }]
  const joined = joinCatalogues(source, sink)
  t.same(joined.map((d) => d.name), ['app.frames', 'app.latency', 'app.lag'], 'in the order met, each metric once')
  t.strictSame(joined[1]!.attributes, { stage: ['receive', 'decode', 'consume'] }, 'values united, first part first, none twice')
  t.strictSame(source[1]!.attributes, { stage: ['receive', 'decode'] }, 'the parts are left as they were')
  const r = MetricsRegistry.create(joined)
  r.histogram('app.latency', { stage: 'consume' }).record(3)
  t.equal(r.histogram('app.latency', { stage: 'consume' }).snapshot().count, 1, 'the joined catalogue lays out')
  t.strictSame(joinCatalogues(source), source, 'one part is itself')
})

t.test('two declarations of one metric that differ in more than their values are refused', async (t) => {
  const base = latency(['a'])
  for (const [what, other] of [
    ['kind', { ...base, kind: 'gauge', histogram: undefined }],
    ['unit', { ...base, unit: 's' }],
    ['description', { ...base, description: 'Another text.' }],
    ['attribute keys', { ...base, attributes: { step: ['a'] } }],
    ['buckets', { ...base, histogram: { lowest: 0.001, highest: 1000 } }],
  ] as const) {
    t.throws(() => joinCatalogues([base], [other as MetricDeclaration]), { code: 'METRICS_DECLARATION', message: /"app\.latency" is declared twice, differently/ }, what)
  }
})
