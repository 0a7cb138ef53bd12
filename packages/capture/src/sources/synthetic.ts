// synthetic://: frames drawn in JS with a checkable pattern, no decoder at
// all: for load tests and the frame_verifier consumer (../synthetic-source.ts
// draws and checks them).
import { defineSourceKind, type SourceBase } from './kind.js'
import { DEFAULT_TEST_FPS, DEFAULT_TEST_SIZE } from './testsrc.js'
import type { Size } from '../types.js'

export interface SyntheticSource extends SourceBase { kind: 'synthetic'; size: Size; fps: number }

export const syntheticKind = defineSourceKind<SyntheticSource>({
  kind: 'synthetic',
  options: ['size', 'fps'],
  example: 'synthetic://?size=1280x720&fps=60',
  parse(u) {
    u.noHierarchy()
    return { kind: 'synthetic', url: u.text, redacted: u.safe, size: u.size() ?? { ...DEFAULT_TEST_SIZE }, fps: u.fps() ?? DEFAULT_TEST_FPS }
  },
})
