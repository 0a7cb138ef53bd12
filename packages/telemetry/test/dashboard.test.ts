import t from 'tap'
import { dashboardQueries, toPromQl } from '../src/dashboard.js'

// heart's shipped dashboard is checked against heart's catalogue in packages/cli/test/metrics-catalogue.test.ts.

t.test('extracts targets from nested rows and substitutes Grafana variables', async (t) => {
  const queries = dashboardQueries({
    panels: [
      { id: 1, title: 'a', targets: [{ refId: 'A', expr: 'rate(x{job=~"$job"}[$__rate_interval])' }, { refId: 'B', expr: 'y', hide: true }] },
      { id: 2, type: 'row', title: 'r', panels: [{ id: 3, title: 'b', targets: [{ refId: 'A', expr: 'z{i="${instance}"}[$__range] [[job]]' }, { refId: 'B' }] }] },
    ],
  })
  t.same(queries.map((q) => [q.panelId, q.refId]), [[1, 'A'], [3, 'A']])
  t.equal(toPromQl(queries[0]!.expr, { variables: { job: 'heart' } }), 'rate(x{job=~"heart"}[1m])')
  t.equal(toPromQl(queries[1]!.expr, { range: '1h', variables: { job: 'j' } }), 'z{i=".*"}[1h] j')
  t.equal(toPromQl('rate(a[$__interval])', { interval: '5s' }), 'rate(a[5s])')
  t.throws(() => dashboardQueries({ title: 'x' }), /not a Grafana dashboard/)
})
