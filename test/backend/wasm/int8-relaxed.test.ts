import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Int8Report } from '../../support/int8-checks.js';
import { expectInt8KernelsCorrect } from '../../support/int8-expect.js';

/**
 * Node 20 has relaxed SIMD only behind a flag, and there its baseline compiler (Liftoff) gets the dot product
 * wrong (int8-matmul.test.ts), so the kernels are checked with the optimizing compiler alone. Newer Node has it on.
 */
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const FLAGS = NODE_MAJOR < 22 ? ['--experimental-wasm-relaxed-simd', '--no-liftoff'] : [];

describe('int8 kernels, relaxed SIMD', () => {
  it('match the float64 reference of the same quantized arithmetic on odd sizes, on plain and shared memory', () => {
    const output = execFileSync(process.execPath, [...FLAGS, '--import', 'tsx', 'test/backend/wasm/int8-relaxed.child.ts'], { encoding: 'utf8', timeout: 120_000 });
    const { status, reports } = JSON.parse(output.trim().split('\n').pop()!) as { status: string; reports: Int8Report[] };
    expect(status).toBe('supported');
    expect(reports.map((r) => [r.variant, r.shared])).toEqual([['relaxed', false], ['relaxed', true]]);
    for (const report of reports) expectInt8KernelsCorrect(report);
  }, 150_000);
});
