import t from 'tap'
import { escapeHtml, renderReport, svgChart } from '../src/soak-html.js'

t.test('the report is one self-contained page: inline SVG, nothing fetched', async (t) => {
  const html = renderReport({
    title: 'soak <test>',
    subtitle: 'sub',
    checks: [
      { name: 'tick', target: '< 8 ms', value: 5, shown: '5 ms', pass: true },
      { name: 'drops', target: '<= 0.1 %', value: 0.5, shown: '0.5 %', pass: false },
    ],
    facts: [['CPU', 'x86']],
    tables: [{ caption: 'Faults', head: ['fault'], rows: [['camera_restart']] }],
    t: [1, 2, 3, 4],
    bands: [{ fromS: 2, toS: 3, label: 'camera_restart' }],
    charts: [
      { title: 'fps', unit: 'fps', series: [{ name: 'published', values: [60, 59, null, 60] }] },
      { title: 'latency', unit: 'ms', log: true, target: { value: 30, label: 'p99 <= 30' }, series: [{ name: 'p99', values: [3, 4, 80, 3] }] },
    ],
  })
  t.equal((html.match(/<svg /g) ?? []).length, 2, 'one SVG per chart')
  t.notMatch(html, /<script/i, 'no scripts')
  t.notMatch(html, /(src|href)=["']?(https?:)?\/\//i, 'nothing loaded from elsewhere')
  t.match(html, /soak &lt;test&gt;/, 'text is escaped')
  t.match(html, /class="fail">FAIL/)
  t.match(html, /NOT all met/)
  t.match(html, /class="band"/, 'fault windows are drawn')
})

t.test('a gap in a series breaks the line instead of drawing through it', async (t) => {
  const svg = svgChart({ title: 'x', unit: 'u', series: [{ name: 's', values: [1, 2, null, 3, 4] }] }, [0, 1, 2, 3, 4], [])
  const d = /<path d="([^"]+)"/.exec(svg)![1]!
  t.equal((d.match(/M/g) ?? []).length, 2, 'two segments')
  t.equal(escapeHtml(`<a href="x">'&`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;')
})
