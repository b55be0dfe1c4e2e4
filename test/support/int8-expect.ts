/** The assertions on a report of int8-checks.ts, the same for every variant and memory. */
import { expect } from 'vitest';
import type { Int8Report } from './int8-checks.js';

export function expectInt8KernelsCorrect(report: Int8Report): void {
  // float32 scales and bias: a few roundings (measured up to 1.1e-7); an integer sum off by one is ~1e-4.
  for (const { shape, worst } of report.relative) expect(worst, `shape ${shape.join(' x ')}`).toBeLessThan(5e-7);
  for (const { shape, mismatches } of report.exactMismatches) expect(mismatches, `shape ${shape.join(' x ')}`).toBe(0);
  expect(report.partsEqualWhole).toBe(true);
  expect(report.zeroRowsGiveBias).toBe(true);
  expect(report.nanRowGivesNaN).toBe(true);
  expect(report.bytesWrittenOutside).toBe(0);
}
