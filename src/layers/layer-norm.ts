/** LayerNorm over the last axis, as torch.nn.LayerNorm (biased variance, eps inside the square root). */
import * as tf from '@tensorflow/tfjs-core';
import type { Parameter, ParameterSet } from './parameters.js';
import { geluOps } from './gelu.js';
import { LAYER_NORM_GELU_KERNEL, wasmGeluKernelsFor } from '../backend/wasm/gelu-kernels.js';

/** Normalises `x` over its last axis; `weight` and `bias` (both or neither) apply the affine part. */
export function layerNorm(x: tf.Tensor, eps: number, weight?: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    if (!weight || !bias) return normalized;
    return tf.add(tf.mul(normalized, weight), bias);
  });
}

/**
 * gelu(layerNorm(x)) with gain and bias; one fused pass on wasm (src/backend/wasm/gelu-kernels.ts). With `inPlace`, wasm
 * may write the result over x's data (x must not be used afterwards); other backends make a new tensor.
 */
export function layerNormGelu(x: tf.Tensor, eps: number, weight: tf.Tensor, bias: tf.Tensor, inPlace = false): tf.Tensor {
  if (wasmGeluKernelsFor(x) && weight.dtype === 'float32' && bias.dtype === 'float32') {
    return tf.engine().runKernel(LAYER_NORM_GELU_KERNEL, { x, weight, bias }, { eps, inPlace }) as tf.Tensor;
  }
  return tf.tidy(() => geluOps(layerNorm(x, eps, weight, bias)));
}

/** A LayerNorm module with optional learned gain and bias (`<prefix>.weight`, `<prefix>.bias`). */
export class LayerNorm {
  private readonly weight?: Parameter;
  private readonly bias?: Parameter;

  constructor(
    params: ParameterSet,
    prefix: string,
    dim: number,
    private readonly eps: number,
    affine = true,
  ) {
    if (affine) {
      this.weight = params.declare(`${prefix}.weight`, [dim]);
      this.bias = params.declare(`${prefix}.bias`, [dim]);
    }
  }

  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.eps, this.weight?.value, this.bias?.value);
  }

  /**
   * gelu(this.apply(x)), in one pass where the backend allows it (affine LayerNorm on wasm); with `inPlace`, over
   * x's own data there (x must not be used afterwards).
   */
  applyWithGelu(x: tf.Tensor, inPlace = false): tf.Tensor {
    if (!this.weight || !this.bias) return tf.tidy(() => geluOps(this.apply(x)));
    return layerNormGelu(x, this.eps, this.weight.value, this.bias.value, inPlace);
  }
}
