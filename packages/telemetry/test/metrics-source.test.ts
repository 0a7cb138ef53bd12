import t from 'tap'
import { MetricsRegistry } from '../src/registry.js'
import { checkMetricsSource, labelledRegistries, metricFamilies, type LabelledRegistry } from '../src/metrics-source.js'
import { SampleMetric, sampleCameraCatalogue, sampleGlobalCatalogue } from './fixtures/sample-catalogue.js'
import type { Catalogue } from '../src/types.js'

t.test('families: one per name, every registry\'s series under it, the added labels first', async (t) => {
  const global = MetricsRegistry.create(sampleGlobalCatalogue())
  const a = MetricsRegistry.create(sampleCameraCatalogue())
  const b = MetricsRegistry.create(sampleCameraCatalogue(['motion']))
  const families = metricFamilies([{ registry: global, labels: {} }, { registry: a, labels: { camera: 'a' } }, { registry: b, labels: { camera: 'b' } }])
  const names = families.map((f) => f.declaration.name)
  t.equal(new Set(names).size, names.length, 'no name twice')
  t.strictSame(names, [...global.catalogue, ...a.catalogue].map((d) => d.name), 'global names first, then the cameras\' in catalogue order')

  const published = families.find((f) => f.declaration.name === SampleMetric.framesPublished)!
  t.strictSame(published.series.map((s) => s.attributes), [{ camera: 'a' }, { camera: 'b' }])
  const delivered = families.find((f) => f.declaration.name === SampleMetric.framesDelivered)!
  t.strictSame(
    delivered.series.map((s) => s.attributes),
    [{ camera: 'a', consumer: 'motion' }, { camera: 'a', consumer: 'detection' }, { camera: 'a', consumer: 'encoder' }, { camera: 'b', consumer: 'motion' }],
    'cameras may run different consumers',
  )
  t.strictSame(Object.keys(delivered.series[0]!.attributes), ['camera', 'consumer'], 'added labels come first')
  t.equal(metricFamilies([{ registry: a, labels: { camera: 'a' } }]).find((f) => f.declaration.name === SampleMetric.framesPublished)!.series[0]!.instance.handle, a.counter(SampleMetric.framesPublished), 'the registry\'s own handle, read live')
  const tick = families.find((f) => f.declaration.name === SampleMetric.loopTickInterval)!
  t.strictSame(tick.series.map((s) => s.attributes), [{}], 'the global registry adds no label')
})

t.test('a plain registry is a source of one registry adding nothing', async (t) => {
  const registry = MetricsRegistry.create(sampleCameraCatalogue())
  t.strictSame(labelledRegistries(registry), [{ registry, labels: {} }])
  const list: readonly LabelledRegistry[] = [{ registry, labels: { camera: 'x' } }]
  t.equal(labelledRegistries(list), list, 'a list is used as it is')
  const instances = [...registry.instances()]
  const series = metricFamilies(registry).flatMap((f) => f.series)
  t.equal(series.length, instances.length)
  t.ok(series.every((s, i) => s.attributes === s.instance.attributes && s.instance.declaration === instances[i]!.declaration), 'attributes untouched, catalogue order')
})

t.test('a source that cannot be exported is a named error', async (t) => {
  const camera = (): MetricsRegistry => MetricsRegistry.create(sampleCameraCatalogue())
  for (const name of ['le', '__name__', '1camera', 'came-ra', '']) {
    t.throws(() => checkMetricsSource([{ registry: camera(), labels: { [name]: 'a' } }]), { code: 'METRIC_ATTRIBUTES', message: /label name/ }, `label name ${JSON.stringify(name)}`)
  }
  t.throws(
    () => checkMetricsSource([{ registry: camera(), labels: { camera: 'a' } }, { registry: camera(), labels: { camera: 'a' } }]),
    { code: 'METRIC_ATTRIBUTES', message: /two registries labelled \{camera="a"\} both declare metric "heart\.frames\.published"/ },
    'two cameras of one name would export duplicate series',
  )
  t.throws(() => metricFamilies([{ registry: camera(), labels: { camera: 'a' } }, { registry: camera(), labels: { camera: 'a' } }]), { code: 'METRIC_ATTRIBUTES' }, 'rendering checks too')

  const recorder = (values: string[]): Catalogue => [{ name: 'heart.recorder.frames', kind: 'counter', unit: '{frame}', description: 'Frames recorded.', attributes: { camera: values } }]
  t.throws(
    () => checkMetricsSource([{ registry: MetricsRegistry.create(recorder(['main'])), labels: { camera: 'front' } }]),
    { code: 'METRIC_ATTRIBUTES', message: /declares its own "camera" attribute \(values: main\)/ },
    'an added label that contradicts a declared attribute',
  )
  t.throws(() => checkMetricsSource([{ registry: MetricsRegistry.create(recorder(['front', 'rear'])), labels: { camera: 'front' } }]), { code: 'METRIC_ATTRIBUTES' }, 'or leaves it ambiguous')
  const same = MetricsRegistry.create(recorder(['front']))
  same.counter('heart.recorder.frames', { camera: 'front' }).add(3)
  const [family] = metricFamilies([{ registry: same, labels: { camera: 'front' } }])
  t.strictSame(family!.series.map((s) => s.attributes), [{ camera: 'front' }], 'the same one value is exported once')

  const declared = (change: Partial<Catalogue[number]>): MetricsRegistry =>
    MetricsRegistry.create([{ name: 'heart.x', kind: 'counter', unit: '{frame}', description: 'X.', ...change } as Catalogue[number]])
  for (const [what, change, message] of [
    ['kind', { kind: 'gauge' }, /a counter in one, a gauge in another/],
    ['unit', { unit: 'ms' }, /unit "\{frame\}" in one, "ms" in another/],
    ['description', { description: 'Y.' }, /description "X\." in one, "Y\." in another/],
  ] as const) {
    t.throws(
      () => checkMetricsSource([{ registry: declared({}), labels: { camera: 'a' } }, { registry: declared(change), labels: { camera: 'b' } }]),
      { code: 'METRICS_DECLARATION', message },
      `a name declared with another ${what}`,
    )
  }
  t.doesNotThrow(() => checkMetricsSource([{ registry: declared({}), labels: {} }, { registry: declared({}), labels: { camera: 'a' } }]), 'unlabelled beside labelled is two series')
})

t.test('labelledNames: one registry holding the process\'s and a camera\'s series labels only the camera\'s', async (t) => {
  const registry = MetricsRegistry.create([...sampleGlobalCatalogue(), ...sampleCameraCatalogue(['motion'])])
  const cameraNames = new Set(sampleCameraCatalogue(['motion']).map((d) => d.name))
  const families = metricFamilies([{ registry, labels: { camera: 'main' }, labelledNames: cameraNames }])
  const published = families.find((f) => f.declaration.name === SampleMetric.framesPublished)!
  t.strictSame(published.series.map((s) => s.attributes), [{ camera: 'main' }], 'a camera series gets the label')
  const tick = families.find((f) => f.declaration.name === SampleMetric.loopTickInterval)!
  t.strictSame(tick.series.map((s) => s.attributes), [{}], 'a process series does not')
  t.doesNotThrow(() => checkMetricsSource([{ registry, labels: { camera: 'main' }, labelledNames: cameraNames }]), 'a valid source')
})
