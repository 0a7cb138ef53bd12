// Loads Melexis's example data (EEPROM, two frames, expected To) from the shared test data.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface MelexisExample {
  eeprom: Uint16Array
  frames: Array<{ words: Uint16Array; subpage: number; vdd: number; ta: number; to: number[] }>
}

/** From dist/test/ up to the directory holding the repository: /work/main/packages/thermal/dist/test -> /work. */
const DEFAULT_PATH = new URL('../../../../../shared/testdata/mlx90640/melexis-example.json', import.meta.url)

export function loadMelexisExample(): MelexisExample {
  const path = process.env.HEART_TESTDATA
    ? `${process.env.HEART_TESTDATA}/mlx90640/melexis-example.json`
    : fileURLToPath(DEFAULT_PATH)
  const raw = JSON.parse(readFileSync(path, 'utf8')) as {
    eeprom: string[]
    frames: Array<{ words: string[]; subpage: number; expected: { vdd: number; ta: number; to: number[] } }>
  }
  const words = (hex: string[]): Uint16Array => Uint16Array.from(hex, (h) => parseInt(h, 16))
  return {
    eeprom: words(raw.eeprom),
    frames: raw.frames.map((f) => ({
      words: words(f.words),
      subpage: f.subpage,
      vdd: f.expected.vdd,
      ta: f.expected.ta,
      to: f.expected.to,
    })),
  }
}
