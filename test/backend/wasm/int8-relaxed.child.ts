/** Run by int8-relaxed.test.ts in a Node that has relaxed SIMD: the int8 checks for the relaxed kernels, as JSON. */
import { relaxedSimdStatus } from '../../../src/backend/wasm/int8/int8-matmul.js';
import { runInt8Checks } from '../../support/int8-checks.js';

const reports = relaxedSimdStatus() === 'supported' ? [await runInt8Checks('relaxed'), await runInt8Checks('relaxed', true)] : [];
console.log(JSON.stringify({ status: relaxedSimdStatus(), reports }));
