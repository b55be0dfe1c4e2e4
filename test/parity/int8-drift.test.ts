/**
 * The drift of int8 compute (`LoadOptions.compute: 'int8'`, the default for `--dtype int8` folders on wasm), held
 * to fixed bounds on every parity fixture (tiny, tiny_wrapped, the base and large shapes with their synthetic
 * weights) and every recording of test/fixtures/audio: the same top label, scores within 0.02, utterance
 * embeddings at cosine >= 0.995; the largest frame difference is printed (test/support/int8-drift.ts says what is
 * compared with what; docs/performance.md has the table). Both kernel sets: SIMD128 here, relaxed SIMD in a child
 * Node that has it. The large model takes a few minutes.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { relaxedSimdStatus } from '../../src/backend/wasm/int8/int8-matmul.js';
import type { FixtureCase } from '../support/fixtures.js';
import { driftRows, measureInt8Drift, type Int8Drift } from '../support/int8-drift.js';

const SCORES_BOUND = 0.02;
const COSINE_BOUND = 0.995;
/**
 * int8 folders against float32 folders add the storage's own rounding (the CNN stored as int8 too): on tiny that
 * alone moves the scores by 0.022 (test/model/weight-dtypes.test.ts), so the scores' bound there is wider.
 */
const FOLDER_SCORES_BOUND = 0.03;

/** Node flags for relaxed SIMD (Node 20: behind a flag, and right only in its optimizing compiler). */
const RELAXED_FLAGS = [
  ...(Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : []),
  '--no-liftoff',
];

function expectWithinBounds(drifts: Int8Drift[], variant: string): void {
  console.info(driftRows(drifts).join('\n'));
  expect(drifts.map((d) => d.comparison)).toEqual(['float32 weights', 'int8 folder', 'int8 folder vs float32 folder']);
  for (const drift of drifts) {
    expect(drift.kernels).toMatch(new RegExp(`^${variant}, `));
    expect(drift.topChanged, drift.comparison).toEqual([]);
    expect(drift.cosine, drift.comparison).toBeGreaterThanOrEqual(COSINE_BOUND);
    const bound = drift.comparison === 'int8 folder vs float32 folder' ? FOLDER_SCORES_BOUND : SCORES_BOUND;
    expect(drift.scores, drift.comparison).toBeLessThan(bound);
    // int8 moves the frames (that is what is measured), and not to NaN.
    expect(drift.frames, drift.comparison).toBeGreaterThan(1e-4);
    expect(drift.frames, drift.comparison).toBeLessThan(Infinity);
  }
}

const TIMEOUT: Record<FixtureCase, number> = { tiny: 120_000, tiny_wrapped: 120_000, base: 600_000, large: 1_200_000 };

for (const name of ['tiny', 'tiny_wrapped', 'base', 'large'] as const) {
  describe(`int8 compute against float32, ${name}`, () => {
    it(
      'SIMD128 kernels: same top labels, scores and utterance embeddings within the bounds',
      async () => {
        // Node 20 has no relaxed SIMD without a flag: `auto` takes SIMD128 here.
        const variant = relaxedSimdStatus() === 'supported' ? 'relaxed' : 'simd128';
        expectWithinBounds(await measureInt8Drift(name), variant);
      },
      TIMEOUT[name],
    );

    it(
      'relaxed SIMD kernels (in a Node that has them): the same bounds',
      () => {
        const output = execFileSync(
          process.execPath,
          [...RELAXED_FLAGS, '--import', 'tsx', 'test/parity/int8-drift.child.ts', name],
          { encoding: 'utf8', timeout: TIMEOUT[name], maxBuffer: 1 << 24 },
        );
        const { status, drifts } = JSON.parse(output.trim().split('\n').pop()!) as {
          status: string;
          drifts: Int8Drift[];
        };
        expect(status).toBe('supported');
        expectWithinBounds(drifts, 'relaxed');
      },
      TIMEOUT[name],
    );
  });
}
