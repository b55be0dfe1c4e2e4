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

/**
 * Grouped Conv1d ("same", T frames out; see kernels.ts) with `slice` for the slices (wasm has a faster one). tfjs
 * has no grouped convolution, and a full C -> C one with a block-diagonal kernel would cost G times the FLOPs, so
 * the k shifted copies of the input are gathered once (im2col) and every group is one plain 2-D product:
 * (B*T, k*C/G) x (k*C/G, C/G). 2-D products because a batched (3-D) `matMul` runs ~10x slower on wasm
 * (bench/RESULTS.md).
 */
export function groupedConv1dWith(slice: Kernels['slice']): Kernels['groupedConv1d'] {
  return (x, { weight, bias, kernel, groups }) =>
    tf.tidy(() => {
      const [batch, time, inChannels] = x.shape;
      const groupIn = inChannels / groups;
      const groupOut = weight.shape[2]!;
      const pad = Math.floor(kernel / 2);
      const padded = tf.pad(x, [
        [0, 0],
        [pad, pad],
        [0, 0],
      ]);
      // For odd k the padded conv gives T frames; for even k it gives T+1 and SamePad drops the last: T either way.
      // The k shifted copies and their stack go as soon as the patches exist (each is k times the input: 37 MB
      // per copy for 10 s of the large model), and each group's rows as soon as its product is done.
      const stacked = tf.tidy(() =>
        tf.stack(
          Array.from({ length: kernel }, (_, j) => slice(padded, [0, j, 0], [batch, time, inChannels])),
          2,
        ),
      );
      padded.dispose();
      const patches = tf.tidy(() =>
        tf.reshape(tf.transpose(tf.reshape(stacked, [batch, time, kernel, groups, groupIn]), [3, 0, 1, 2, 4]), [
          groups,
          batch * time,
          kernel * groupIn,
        ]),
      ) as tf.Tensor3D;
      stacked.dispose();
      const rows = batch * time;
      const perGroup = Array.from({ length: groups }, (_, g) =>
        tf.tidy(() =>
          tf.matMul(
            tf.reshape(slice(patches, [g, 0, 0], [1, rows, kernel * groupIn]), [rows, kernel * groupIn]) as tf.Tensor2D,
            tf.reshape(slice(weight, [g, 0, 0], [1, kernel * groupIn, groupOut]), [
              kernel * groupIn,
              groupOut,
            ]) as tf.Tensor2D,
          ),
        ),
      ); // each (B*T, out/G); side by side they are the output channels in order
      patches.dispose();
      return tf.reshape(tf.add(tf.concat(perGroup, 1), bias), [batch, time, groups * groupOut]) as tf.Tensor3D;
    });
}

/**
 * Multi-head attention of one item (see kernels.ts) with `slice` for the slices, as plain 2-D products on K
 * transposed once: on wasm a transposed-B `matMul` and a batched (4-D) `matMul` run at ~1 GFLOP/s, while a plain
 * 2-D product reaches 15-19 (bench/RESULTS.md). The sums are the same, so the numbers match the batched form within
 * rounding.
 */
export function attentionWith(slice: Kernels['slice']): Kernels['attention'] {
  return (qkv, { bias, item, heads }) =>
    tf.tidy(() => {
      const [length, width] = qkv.shape;
      const dim = width / 3;
      const headDim = dim / heads;
      const q = tf.mul(slice(qkv, [0, 0], [length, dim]), headDim ** -0.5);
      const keysT = tf.transpose(slice(qkv, [0, dim], [length, dim])); // (D, N): head h is rows h*d_head...
      const v = slice(qkv, [0, 2 * dim], [length, dim]);
      // Each head's (N, N) scores go as soon as its context is computed (16 heads x 1 MB at 10 s, large).
      const outputs = Array.from({ length: heads }, (_, h) =>
        tf.tidy(() => {
          let scores: tf.Tensor2D = tf.matMul(
            slice(q, [0, h * headDim], [length, headDim]),
            slice(keysT, [h * headDim, 0], [headDim, length]),
          );
          if (bias) scores = tf.add(scores, biasOf(slice, bias, item, h)) as tf.Tensor2D;
          return tf.matMul(tf.softmax(scores), slice(v, [0, h * headDim], [length, headDim]));
        }),
      );
      return tf.concat(outputs, 1) as tf.Tensor2D;
    });
}

/** The (N, N) or (1, N) slice of a (B|1, H|1, N|1, N) bias for one item and head. */
function biasOf(slice: Kernels['slice'], bias: tf.Tensor4D, item: number, head: number): tf.Tensor2D {
  const [items, heads, rows, cols] = bias.shape;
  const start: [number, number, number, number] = [items === 1 ? 0 : item, heads === 1 ? 0 : head, 0, 0];
  return tf.reshape(slice(bias, start, [1, 1, rows, cols]), [rows, cols]);
}

const slice: Kernels['slice'] = (x, begin, size) => tf.slice(x, [...begin], [...size]);

export const plainKernels: Kernels = {
  linear(x, { weight, bias }) {
    return tf.tidy(() => {
      const outFeatures = weight.shape[1]!;
      const flat = tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D;
      const product = tf.fused.matMul({ a: flat, b: weight as tf.Tensor2D, bias });
      return tf.reshape(product, [...x.shape.slice(0, -1), outFeatures]);
    });
  },
  conv1d: (x, { weight, stride }) => tf.conv1d(x, weight as tf.Tensor3D, stride, 'valid'),
  groupedConv1d: groupedConv1dWith(slice),
  attention: attentionWith(slice),
  prepareLinearWeight: () => null,
  gelu,
  layerNorm,
  layerNormGelu: (x, eps, weight, bias) => tf.tidy(() => gelu(layerNorm(x, eps, weight, bias))),
  slice,
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
