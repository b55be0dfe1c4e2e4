/**
 * Run by int8-drift.test.ts in a Node that has relaxed SIMD: prints, as JSON, the drift of int8 compute on the
 * fixture model named by the argument (test/support/int8-drift.ts), which there runs the relaxed SIMD kernels.
 */
import { relaxedSimdStatus } from '../../src/backend/wasm/int8/int8-matmul.js';
import { measureInt8Drift } from '../support/int8-drift.js';
import type { FixtureCase } from '../support/fixtures.js';

const drifts = relaxedSimdStatus() === 'supported' ? await measureInt8Drift(process.argv[2] as FixtureCase) : [];
console.log(JSON.stringify({ status: relaxedSimdStatus(), drifts }));
