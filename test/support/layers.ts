/** Helpers for layer unit tests: build one layer from given tensors, naive float64 references. */
import * as tf from '@tensorflow/tfjs-core';
import { ParameterSet } from '../../src/layers/parameters.js';
import type { StateDict } from '../../src/model/state-dict.js';

/** A state dict from plain arrays. */
export function stateDictOf(tensors: Record<string, { shape: number[]; data: Float32Array }>): StateDict {
  return new Map(
    Object.entries(tensors).map(([name, { shape, data }]) => [
      name,
      { shape, dtype: 'float32' as const, read: () => data },
    ]),
  );
}

/** Declares a layer, loads its weights, and returns it with its parameter set (dispose it after the test). */
export function buildLayer<T>(
  declare: (params: ParameterSet) => T,
  weights: StateDict,
): { layer: T; params: ParameterSet } {
  const params = new ParameterSet();
  const layer = declare(params);
  params.load(weights);
  return { layer, params };
}

/** Runs `fn`, reads its output, and disposes every tensor it made. */
export function evaluate(fn: () => tf.Tensor): { data: Float32Array; shape: number[] } {
  const out = tf.tidy(fn);
  const data = out.dataSync() as Float32Array;
  const shape = out.shape;
  out.dispose();
  return { data: data.slice(), shape };
}

/** Where a tensor's bytes lie on the wasm heap, 0 once freed (tfjs-backend-wasm's own bookkeeping; wasm only). */
export function heapOffset(tensor: tf.Tensor): number {
  return (tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } }).dataIdMap.get(
    tensor.dataId,
  ).memoryOffset;
}

/** erf in float64 (Taylor series; |x| >= 5 is +-1 within 2e-12), as an independent reference. */
export function erf64(x: number): number {
  if (Math.abs(x) >= 5) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export function gelu64(x: number): number {
  return 0.5 * x * (1 + erf64(x / Math.SQRT2));
}

/** LayerNorm of each row of a (rows, dim) array, float64. */
export function layerNorm64(
  x: ArrayLike<number>,
  dim: number,
  eps: number,
  weight?: ArrayLike<number>,
  bias?: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[r * dim + i]!;
    mean /= dim;
    let variance = 0;
    for (let i = 0; i < dim; i++) variance += (x[r * dim + i]! - mean) ** 2;
    variance /= dim;
    for (let i = 0; i < dim; i++) {
      const n = (x[r * dim + i]! - mean) / Math.sqrt(variance + eps);
      out[r * dim + i] = weight && bias ? n * weight[i]! + bias[i]! : n;
    }
  }
  return out;
}

/** y = x W^T + b for x (rows, in), W (out, in), float64. */
export function linear64(
  x: ArrayLike<number>,
  rows: number,
  w: ArrayLike<number>,
  out: number,
  inDim: number,
  b?: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i]! * w[o * inDim + i]!;
      y[r * out + o] = s;
    }
  }
  return y;
}
