import { describe, expect, it } from 'vitest';
import type { Int8Report } from '../../support/int8-checks.js';
import { expectInt8KernelsCorrect, runRelaxedChild } from '../../support/int8-expect.js';

/** In a child Node that has relaxed SIMD (int8-expect.ts says with which flags). */
describe('int8 kernels, relaxed SIMD', () => {
  it('match the float64 reference of the same quantized arithmetic on odd sizes, on plain and shared memory', () => {
    const { status, reports } = runRelaxedChild() as { status: string; reports: Int8Report[] };
    expect(status).toBe('supported');
    expect(reports.map((r) => [r.variant, r.shared])).toEqual([
      ['relaxed', false],
      ['relaxed', true],
    ]);
    for (const report of reports) expectInt8KernelsCorrect(report);
  }, 150_000);
});
