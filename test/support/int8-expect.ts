/** The assertions on a report of int8-checks.ts, the same for every variant and memory; running the relaxed ones. */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import type { Int8Report } from './int8-checks.js';

/**
 * Node flags for checking the relaxed SIMD kernels: Node 20 has relaxed SIMD behind a flag, and there its baseline
 * compiler (Liftoff) gets the dot product wrong (`relaxedSimdStatus` says `wrong` and the kernels are not used),
 * so the kernels are checked with the optimizing compiler alone, which is what runs them after the tier-up.
 */
const RELAXED_FLAGS = [
  ...(Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : []),
  '--no-liftoff',
];

/** Runs test/backend/wasm/int8-relaxed.child.ts (with `mode`) in a Node with relaxed SIMD; returns its JSON. */
export function runRelaxedChild(mode?: 'precision' | 'threads'): unknown {
  const args = [
    ...RELAXED_FLAGS,
    '--import',
    'tsx',
    'test/backend/wasm/int8-relaxed.child.ts',
    ...(mode ? [mode] : []),
  ];
  const output = execFileSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(output.trim().split('\n').pop()!);
}

export function expectInt8KernelsCorrect(report: Int8Report): void {
  // float32 scales and bias: a few roundings (measured up to 1.1e-7); an integer sum off by one is ~1e-4.
  for (const { shape, worst } of report.relative) expect(worst, `shape ${shape.join(' x ')}`).toBeLessThan(5e-7);
  for (const { shape, mismatches } of report.exactMismatches) expect(mismatches, `shape ${shape.join(' x ')}`).toBe(0);
  expect(report.partsEqualWhole).toBe(true);
  expect(report.zeroRowsGiveBias).toBe(true);
  expect(report.nanRowGivesNaN).toBe(true);
  expect(report.stridedRowsEqualGathered).toBe(true);
  // int8 q, k, probabilities and v (7-bit k and v for relaxed): measured 0.002-0.004 of v's largest magnitude.
  for (const { shape, worst } of report.attention) {
    expect(worst, `attention ${shape.join(' x ')}`).toBeLessThan(report.variant === 'relaxed' ? 0.015 : 0.01);
    // One row: one key, whose probability 1 and v are exact in int8; more: rounding shows.
    if (shape[0] > 1) expect(worst, `attention ${shape.join(' x ')}`).toBeGreaterThan(0);
  }
  expect(report.bytesWrittenOutside).toBe(0);
}
