/**
 * Drift of `convert --dtype` at the base shape (synthetic weights, wasm), held at the measured value with a
 * margin. About 2.5 minutes: most of it is building and encoding 93 M synthetic weights three times.
 */
import { describe, expect, it } from 'vitest';
import type { WeightDType } from '../../src/model/weight-dtypes.js';
import { measureDrift } from '../support/dtype-drift.js';

const BASE_BARS: Record<WeightDType, { bytes: number; frames: number; scores: number }> = {
  float32: { bytes: 372_712_532, frames: 5e-4, scores: 1e-4 }, // measured 2.01e-5, 5.14e-8 (the parity bars)
  float16: { bytes: 186_356_266, frames: 2e-2, scores: 3e-5 }, // measured 1.28e-2, 9.37e-6
  int8: { bytes: 93_580_628, frames: 0.2, scores: 1e-3 }, // measured 1.03e-1, 3.61e-4
};

describe('base shape converted with --dtype', () => {
  for (const dtype of ['float32', 'float16', 'int8'] as const) {
    it(`${dtype} on wasm: within its measured drift of upstream, same top labels`, async () => {
      const drift = await measureDrift('base', dtype, 'wasm');
      expect(drift.bytes).toBe(BASE_BARS[dtype].bytes);
      expect(drift.topMismatches).toEqual([]);
      expect(drift.frames).toBeLessThan(BASE_BARS[dtype].frames);
      expect(drift.scores).toBeLessThan(BASE_BARS[dtype].scores);
    }, 300_000);
  }
});
