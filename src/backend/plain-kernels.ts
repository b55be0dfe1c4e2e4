/**
 * The kernel interface (src/backend/kernels.ts) as plain tfjs ops: what cpu, WebGL, WebGPU and the native
 * tensorflow backend run, what wasm runs where it has no fast path, and the reference the fast paths are tested
 * against.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Kernels } from './kernels.js';

const INV_SQRT2 = Math.SQRT1_2;

function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, INV_SQRT2)), 1)));
}

function layerNorm(x: tf.Tensor, eps: number, weight?: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    if (!weight || !bias) return normalized;
    return tf.add(tf.mul(normalized, weight), bias);
  });
}

export const plainKernels: Kernels = {
  linear(x, { weight, bias }) {
    return tf.tidy(() => {
      const outFeatures = weight.shape[1]!;
      const flat = tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D;
      const product = tf.fused.matMul({ a: flat, b: weight as tf.Tensor2D, bias });
      return tf.reshape(product, [...x.shape.slice(0, -1), outFeatures]);
    });
  },
  prepareLinearWeight: () => null,
  gelu,
  layerNorm,
  layerNormGelu: (x, eps, weight, bias) => tf.tidy(() => gelu(layerNorm(x, eps, weight, bias))),
  slice: (x, begin, size) => tf.slice(x, [...begin], [...size]),
  filledTensor(shape, fill) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(values);
    return tf.tensor(values, [...shape], 'float32');
  },
  reserveSideBySide: () => ({ blocks: [], headroom: null }),
  startInt8Compute: async () => `the '${tf.getBackend()}' backend has no int8 kernels (they run on 'wasm')`,
  int8WeightBytes: () => null,
  int8Weight: () => null,
};
