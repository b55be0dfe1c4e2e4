/**
 * Run by node-threads.test.ts in its own process: starts the threaded wasm pool, runs one product, prints the pool
 * size, returns.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import '../../../src/node.js';
import { selectBackend } from '../../../src/backend/select.js';

await selectBackend('wasm');
tf.tidy(() => tf.matMul(tf.ones([256, 256]), tf.ones([256, 256])).dataSync());
console.log(getThreadsCount());
