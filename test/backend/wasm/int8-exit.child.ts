/**
 * Run by int8-linear.test.ts in its own process: starts the int8 products on the wasm backend (worker threads on
 * tfjs' shared memory where it is threaded), runs one, prints the threads it ran on and why fewer, returns.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/node.js';
import { selectBackend } from '../../../src/backend/select.js';
import { int8Weight, linear, prepareLinearWeight, startInt8Compute } from '../../../src/backend/kernels.js';
import { int8ComputeInfo } from '../../../src/backend/wasm/int8-linear.js';

await selectBackend('wasm');
const reason = await startInt8Compute();
if (reason !== null) throw new Error(reason);
const weight = int8Weight([256, 256], (values, scales) => {
  values.fill(1);
  scales.fill(0.5);
})!;
const prepared = prepareLinearWeight(weight, undefined);
const sum = tf.tidy(() => tf.sum(linear(tf.ones([64, 256]), { weight, prepared })).dataSync()[0]);
console.log(JSON.stringify({ ...int8ComputeInfo(), sum }));
