/**
 * Run by the int8 tests in a Node that has relaxed SIMD: prints, as JSON, the relaxed kernels' correctness reports
 * (plain and shared memory); with the argument `precision` their precision on realistic data; with `threads`
 * whether two threads give the one-thread products.
 */
import { relaxedSimdStatus } from '../../../src/backend/wasm/int8/int8-matmul.js';
import { runInt8Checks, threadsGiveSameProducts } from '../../support/int8-checks.js';
import { measureInt8Precision } from '../../support/int8-precision.js';

if (process.argv[2] === 'precision') {
  console.log(JSON.stringify(await measureInt8Precision('relaxed')));
} else if (process.argv[2] === 'threads') {
  console.log(JSON.stringify(await threadsGiveSameProducts('relaxed', 2)));
} else {
  const reports =
    relaxedSimdStatus() === 'supported' ? [await runInt8Checks('relaxed'), await runInt8Checks('relaxed', true)] : [];
  console.log(JSON.stringify({ status: relaxedSimdStatus(), reports }));
}
