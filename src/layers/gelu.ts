/** The exact (erf) GELU of torch.nn.GELU(), not the tanh approximation. */
import * as tf from '@tensorflow/tfjs-core';
import { GELU_KERNEL, wasmGeluKernelsFor } from '../backend/wasm/gelu-kernels.js';

const INV_SQRT2 = Math.SQRT1_2;

/** gelu(x) = x/2 * (1 + erf(x / sqrt(2))); one fused pass on wasm (src/backend/wasm/gelu-kernels.ts). */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (wasmGeluKernelsFor(x)) return tf.engine().runKernel(GELU_KERNEL, { x }) as tf.Tensor;
  return geluOps(x);
}

/** The same from tfjs ops: every backend; the reference the wasm kernel is tested against. */
export function geluOps(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, INV_SQRT2)), 1)));
}
